/**
 * Registered devices and their credentials. A token is shown once, when it is issued;
 * the table keeps only a per-device random salt and SHA-256(salt ‖ token), and the token in
 * Mosquitto's password-file form for an external broker (broker-password.ts).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { isValidDeviceId } from '../../protocol/index.ts';
import { mosquittoPasswordHash } from './broker-password.ts';
import type { SqliteDatabase } from './database.ts';
import { StoreError } from './errors.ts';
import { normalizeMac } from './mac.ts';
import { createStoreChanges, type StoreChanges } from './store-changes.ts';
import type { DeviceRecord } from './types.ts';

/** 256 bits: unguessable, so a single fast hash protects it (see hashToken). */
export const TOKEN_BYTES = 32;
export const SALT_BYTES = 16;
/** base64url of 32 bytes is 43 characters; anything far longer is not a token, so we skip hashing it. */
const MAX_TOKEN_LENGTH = 256;
/** Names are for people reading lists and dashboards; longer is a mistake. */
export const MAX_DEVICE_NAME_LENGTH = 100;

interface DeviceRow {
  id: string;
  name: string;
  created_at: number;
  last_seen_at: number | null;
  settings: string;
  conversation_started_at: number;
  mac: string | null;
}

interface CredentialRow {
  token_salt: Buffer;
  token_hash: Buffer;
}

export interface IssuedDevice {
  device: DeviceRecord;
  /** The only time the token exists in clear: give it to the device, then forget it. */
  token: string;
}

export function newToken(): string {
  return randomBytes(TOKEN_BYTES).toString('base64url');
}

/**
 * Why SHA-256 and not bcrypt/scrypt/argon2: slow KDFs exist to make guessing a
 * low-entropy password expensive after the hashes leak. Our tokens are 256 random bits,
 * so no guess list exists and brute force is hopeless at any hash speed; a slow KDF
 * would only cost ~50-100 ms of CPU per connect, which 2,000 devices reconnecting at
 * once (gateway restart) cannot afford. The salt keeps equal tokens from hashing alike.
 */
export function hashToken(salt: Buffer, token: string): Buffer {
  return createHash('sha256').update(salt).update(token, 'utf8').digest();
}

function toRecord(row: DeviceRow): DeviceRecord {
  return {
    id: row.id,
    name: row.name,
    createdAt: row.created_at,
    lastSeenAt: row.last_seen_at,
    settings: JSON.parse(row.settings) as Record<string, unknown>,
    conversationStartedAt: row.conversation_started_at,
    // Only devices that have one (stock xiaozhi firmware) carry the key.
    ...(row.mac !== null ? { mac: row.mac } : {}),
  };
}

function checkId(id: string): void {
  if (typeof id !== 'string' || !isValidDeviceId(id)) {
    throw new StoreError(
      'invalid_device_id',
      `invalid device id ${JSON.stringify(id)}: use 1-64 letters, digits, '-' or '_', starting with a letter or digit (and not "gateway")`,
    );
  }
}

function checkName(name: string): string {
  const trimmed = name.trim();
  if (trimmed.length === 0 || trimmed.length > MAX_DEVICE_NAME_LENGTH || /[\u0000-\u001f\u007f]/.test(trimmed)) {
    throw new StoreError('invalid_name', `invalid device name: 1-${MAX_DEVICE_NAME_LENGTH} printable characters`);
  }
  return trimmed;
}

function checkMac(mac: string): string {
  const normalized = normalizeMac(mac);
  if (normalized === null) throw new StoreError('invalid_mac', `invalid MAC address ${JSON.stringify(mac)}: use six hex bytes, e.g. aa:bb:cc:dd:ee:ff`);
  return normalized;
}

function unknown(id: string): StoreError {
  return new StoreError('unknown_device', `no device with id ${JSON.stringify(id)}`);
}

const DEVICE_COLUMNS = 'id, name, created_at, last_seen_at, settings, conversation_started_at, mac';

/** A device registered or removed, by this process or another (see StoreChanges). */
export interface DeviceChange {
  type: 'added' | 'removed';
  id: string;
}

/** A device's credential for an external Mosquitto (null: registered before voxgate kept one). */
export interface DeviceBrokerHash {
  id: string;
  brokerHash: string | null;
}

export class DeviceRegistry {
  private readonly statements;

  constructor(
    private readonly db: SqliteDatabase,
    private readonly now: () => number = Date.now,
    /** Told after every write here; openStore shares one signal among the registries. */
    private readonly changes: StoreChanges = createStoreChanges(db),
  ) {
    // Prepared once: verify() and touch() run on every connect.
    this.statements = {
      insert: db.prepare(
        'INSERT INTO devices (id, name, token_salt, token_hash, broker_hash, created_at, mac) VALUES (@id, @name, @salt, @hash, @brokerHash, @createdAt, @mac)',
      ),
      exists: db.prepare<[string], { one: number }>('SELECT 1 AS one FROM devices WHERE id = ?'),
      brokerHashes: db.prepare<[], { id: string; broker_hash: string | null }>('SELECT id, broker_hash FROM devices ORDER BY id'),
      get: db.prepare<[string], DeviceRow>(`SELECT ${DEVICE_COLUMNS} FROM devices WHERE id = ?`),
      byMac: db.prepare<[string], DeviceRow>(`SELECT ${DEVICE_COLUMNS} FROM devices WHERE mac = ?`),
      list: db.prepare<[], DeviceRow>(`SELECT ${DEVICE_COLUMNS} FROM devices ORDER BY id`),
      credentials: db.prepare<[string], CredentialRow>('SELECT token_salt, token_hash FROM devices WHERE id = ?'),
      setCredentials: db.prepare('UPDATE devices SET token_salt = ?, token_hash = ?, broker_hash = ? WHERE id = ?'),
      remove: db.prepare('DELETE FROM devices WHERE id = ?'),
      touch: db.prepare('UPDATE devices SET last_seen_at = ? WHERE id = ?'),
      setSettings: db.prepare('UPDATE devices SET settings = ? WHERE id = ?'),
      resetConversation: db.prepare('UPDATE devices SET conversation_started_at = ? WHERE id = ?'),
    };
  }

  /**
   * Registers a device and issues its first token. `mac` (any common spelling) makes it a
   * stock xiaozhi device, known by that MAC at /xiaozhi/ota/ (no pairing code needed).
   */
  add(id: string, name?: string, options: { mac?: string } = {}): IssuedDevice {
    checkId(id);
    const displayName = checkName(name ?? id);
    const mac = options.mac === undefined ? null : checkMac(options.mac);
    const token = newToken();
    const salt = randomBytes(SALT_BYTES);
    try {
      this.statements.insert.run({
        id,
        name: displayName,
        salt,
        hash: hashToken(salt, token),
        brokerHash: mosquittoPasswordHash(token),
        createdAt: this.now(),
        mac,
      });
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
        throw new StoreError('duplicate_device', `a device with id ${JSON.stringify(id)} already exists`);
      }
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE' && mac !== null) {
        throw new StoreError('duplicate_mac', `a device with MAC ${mac} already exists`);
      }
      throw err;
    }
    this.changes.check();
    return { device: this.get(id)!, token };
  }

  /** True only for a registered id with its current token. Never throws on odd input. */
  verify(id: string, token: string): boolean {
    if (typeof id !== 'string' || typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
      return false;
    }
    // Device ids are not secret (they are MQTT topic levels), so answering an unknown id
    // quickly leaks nothing; the token comparison itself is constant-time.
    const row = this.statements.credentials.get(id);
    if (!row) return false;
    return timingSafeEqual(hashToken(row.token_salt, token), row.token_hash);
  }

  get(id: string): DeviceRecord | undefined {
    const row = this.statements.get.get(id);
    return row ? toRecord(row) : undefined;
  }

  /** The device with this MAC (any common spelling); undefined for none or a malformed MAC. */
  getByMac(mac: string): DeviceRecord | undefined {
    const normalized = normalizeMac(mac);
    const row = normalized === null ? undefined : this.statements.byMac.get(normalized);
    return row ? toRecord(row) : undefined;
  }

  list(): DeviceRecord[] {
    return this.statements.list.all().map(toRecord);
  }

  /** Whether `id` is registered (cheaper than get: no settings to parse). */
  has(id: string): boolean {
    return this.statements.exists.get(id) !== undefined;
  }

  /** Every device's token in Mosquitto's password-file form, by id. */
  brokerHashes(): DeviceBrokerHash[] {
    return this.statements.brokerHashes.all().map((row) => ({ id: row.id, brokerHash: row.broker_hash }));
  }

  /** Deletes the device and (by foreign-key cascade) all its turns. False when there was none. */
  remove(id: string): boolean {
    const removed = this.statements.remove.run(id).changes > 0;
    if (removed) this.changes.check();
    return removed;
  }

  /**
   * Tells `listener` about devices added or removed: through this registry at once, by another
   * process (the `voxgate device` CLI) once the store's watch notices (StoreChanges.watch).
   * A throwing listener is ignored.
   */
  onChange(listener: (change: DeviceChange) => void): () => void {
    return this.changes.subscribe(({ devices }) => {
      for (const id of devices.added) listener({ type: 'added', id });
      for (const id of devices.removed) listener({ type: 'removed', id });
    });
  }

  /** Issues a new token; the old one stops working at once. */
  rotateToken(id: string): string {
    const token = newToken();
    const salt = randomBytes(SALT_BYTES);
    if (this.statements.setCredentials.run(salt, hashToken(salt, token), mosquittoPasswordHash(token), id).changes === 0) throw unknown(id);
    this.changes.check();
    return token;
  }

  /** Records that the device was seen (connected, said hello). False for an unknown id. */
  touch(id: string, when: number = this.now()): boolean {
    return this.statements.touch.run(when, id).changes > 0;
  }

  /**
   * Merges `patch` into the device's settings (top level only); a key set to null is removed,
   * as in JSON Merge Patch. Returns the updated record.
   */
  updateSettings(id: string, patch: Record<string, unknown>): DeviceRecord {
    if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
      throw new StoreError('invalid_argument', 'settings patch must be an object');
    }
    return this.db.transaction(() => {
      const current = this.get(id);
      if (!current) throw unknown(id);
      const settings: Record<string, unknown> = { ...current.settings };
      for (const [key, value] of Object.entries(patch)) {
        if (value === null) delete settings[key];
        else if (value !== undefined) settings[key] = value;
      }
      this.statements.setSettings.run(JSON.stringify(settings), id);
      return { ...current, settings };
    })();
  }

  /** Starts a new conversation: earlier turns no longer feed the LLM's memory. False for an unknown id. */
  resetConversation(id: string, when: number = this.now()): boolean {
    return this.statements.resetConversation.run(when, id).changes > 0;
  }
}
