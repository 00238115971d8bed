/**
 * API keys for the HTTP API (`Authorization: Bearer vxg_<id>_<secret>`). Like device tokens,
 * a key is shown once when created; the table keeps a per-key salt and SHA-256(salt ‖ key)
 * (see hashToken for why a fast hash is right for 256 random bits). The id inside the key
 * finds its row without scanning; revoked keys stay listed with their revocation time.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { SqliteDatabase } from './database.ts';
import { hashToken, newToken, SALT_BYTES } from './device-registry.ts';
import { StoreError } from './errors.ts';
import { createStoreChanges, type StoreChanges } from './store-changes.ts';

export const API_KEY_PREFIX = 'vxg_';
/** 6 random bytes as hex: short enough to type in `voxgate apikey revoke`, unique in practice. */
const ID_BYTES = 6;
const KEY_PATTERN = /^vxg_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;
/** Names are for people reading `apikey list`; longer is a mistake. */
export const MAX_API_KEY_NAME_LENGTH = 100;
/** `last_used_at` is written at most this often per key, so every request is not a disk write. */
export const LAST_USED_RESOLUTION_MS = 60_000;

export interface ApiKeyRecord {
  id: string;
  name: string;
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

export interface IssuedApiKey {
  record: ApiKeyRecord;
  /** The only time the key exists in clear. */
  key: string;
}

interface ApiKeyRow {
  id: string;
  name: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

interface ApiKeyCredentialRow extends ApiKeyRow {
  key_salt: Buffer;
  key_hash: Buffer;
}

const COLUMNS = 'id, name, created_at, last_used_at, revoked_at';

function toRecord(row: ApiKeyRow): ApiKeyRecord {
  return { id: row.id, name: row.name, createdAt: row.created_at, lastUsedAt: row.last_used_at, revokedAt: row.revoked_at };
}

function checkName(name: string): string {
  const trimmed = name.trim();
  if (trimmed.length === 0 || trimmed.length > MAX_API_KEY_NAME_LENGTH || /[\u0000-\u001f\u007f]/.test(trimmed)) {
    throw new StoreError('invalid_name', `invalid API key name: 1-${MAX_API_KEY_NAME_LENGTH} printable characters`);
  }
  return trimmed;
}

export class ApiKeyRegistry {
  private readonly statements;

  constructor(
    private readonly db: SqliteDatabase,
    private readonly now: () => number = Date.now,
    /** Told after every write here. */
    private readonly changes: StoreChanges = createStoreChanges(db),
  ) {
    this.statements = {
      insert: db.prepare('INSERT INTO api_keys (id, name, key_salt, key_hash, created_at) VALUES (@id, @name, @salt, @hash, @createdAt)'),
      get: db.prepare<[string], ApiKeyRow>(`SELECT ${COLUMNS} FROM api_keys WHERE id = ?`),
      credentials: db.prepare<[string], ApiKeyCredentialRow>(`SELECT ${COLUMNS}, key_salt, key_hash FROM api_keys WHERE id = ?`),
      list: db.prepare<[], ApiKeyRow>(`SELECT ${COLUMNS} FROM api_keys ORDER BY created_at, rowid`),
      liveByName: db.prepare<[string], ApiKeyRow>(`SELECT ${COLUMNS} FROM api_keys WHERE name = ? AND revoked_at IS NULL`),
      revoke: db.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL'),
      touch: db.prepare('UPDATE api_keys SET last_used_at = ? WHERE id = ?'),
    };
  }

  /** Issues a key. Without a name it is called `key-<id>`. */
  create(name?: string): IssuedApiKey {
    const id = randomBytes(ID_BYTES).toString('hex');
    const displayName = checkName(name ?? `key-${id}`);
    const key = `${API_KEY_PREFIX}${id}_${newToken()}`;
    const salt = randomBytes(SALT_BYTES);
    try {
      this.statements.insert.run({ id, name: displayName, salt, hash: hashToken(salt, key), createdAt: this.now() });
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
        throw new StoreError('duplicate_api_key', `an API key named ${JSON.stringify(displayName)} already exists`);
      }
      throw err;
    }
    this.changes.check();
    return { record: this.get(id)!, key };
  }

  get(id: string): ApiKeyRecord | undefined {
    const row = this.statements.get.get(id);
    return row ? toRecord(row) : undefined;
  }

  /** Every key ever issued (revoked ones too), oldest first. */
  list(): ApiKeyRecord[] {
    return this.statements.list.all().map(toRecord);
  }

  /** Revokes a live key by id or name; it stops working at once. Throws when there is none. */
  revoke(idOrName: string): ApiKeyRecord {
    const row = this.statements.get.get(idOrName) ?? this.statements.liveByName.get(idOrName);
    if (!row) throw new StoreError('unknown_api_key', `no API key with id or name ${JSON.stringify(idOrName)}`);
    if (row.revoked_at !== null) throw new StoreError('unknown_api_key', `API key ${row.id} is already revoked`);
    this.statements.revoke.run(this.now(), row.id);
    this.changes.check();
    return this.get(row.id)!;
  }

  /** The live key's record, or undefined for anything else. Never throws on odd input. */
  verify(key: string): ApiKeyRecord | undefined {
    if (typeof key !== 'string') return undefined;
    const match = KEY_PATTERN.exec(key);
    if (!match) return undefined;
    const row = this.statements.credentials.get(match[1]!);
    if (!row || row.revoked_at !== null) return undefined;
    if (!timingSafeEqual(hashToken(row.key_salt, key), row.key_hash)) return undefined;
    const now = this.now();
    if (row.last_used_at === null || now - row.last_used_at >= LAST_USED_RESOLUTION_MS) {
      this.statements.touch.run(now, row.id);
      row.last_used_at = now;
    }
    return toRecord(row);
  }
}
