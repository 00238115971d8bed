/**
 * MQTT accounts for services that are not wearables (Home Assistant, `voxgate service add
 * homeassistant`). A service logs in to the embedded broker with username = its name and
 * password = its token; what it may touch is decided by the broker's service ACL, not here.
 * Tokens are hashed like device tokens (see hashToken) and shown once.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { isValidDeviceId } from '../../protocol/index.ts';
import type { SqliteDatabase } from './database.ts';
import { hashToken, newToken, SALT_BYTES } from './device-registry.ts';
import { StoreError } from './errors.ts';
import { createStoreChanges, type StoreChanges } from './store-changes.ts';

/** Same limit as device tokens: anything far longer is not one of ours and is not hashed. */
const MAX_TOKEN_LENGTH = 256;

export interface ServiceAccountRecord {
  name: string;
  createdAt: number;
  lastUsedAt: number | null;
}

export interface IssuedServiceAccount {
  account: ServiceAccountRecord;
  /** The only time the token exists in clear. */
  token: string;
}

interface ServiceRow {
  name: string;
  created_at: number;
  last_used_at: number | null;
}

interface ServiceCredentialRow extends ServiceRow {
  token_salt: Buffer;
  token_hash: Buffer;
}

const COLUMNS = 'name, created_at, last_used_at';

function toRecord(row: ServiceRow): ServiceAccountRecord {
  return { name: row.name, createdAt: row.created_at, lastUsedAt: row.last_used_at };
}

/** A service name is an MQTT username: the device-id rules keep it one safe word. */
function checkName(name: string): void {
  if (typeof name !== 'string' || !isValidDeviceId(name)) {
    throw new StoreError('invalid_name', `invalid service name ${JSON.stringify(name)}: use 1-64 letters, digits, '-' or '_', starting with a letter or digit`);
  }
}

export class ServiceAccountRegistry {
  private readonly statements;

  constructor(
    db: SqliteDatabase,
    private readonly now: () => number = Date.now,
    /** Told after every write here (so a removed account's connections can be closed). */
    private readonly changes: StoreChanges = createStoreChanges(db),
  ) {
    this.statements = {
      insert: db.prepare('INSERT INTO service_accounts (name, token_salt, token_hash, created_at) VALUES (@name, @salt, @hash, @createdAt)'),
      get: db.prepare<[string], ServiceRow>(`SELECT ${COLUMNS} FROM service_accounts WHERE name = ?`),
      credentials: db.prepare<[string], ServiceCredentialRow>(`SELECT ${COLUMNS}, token_salt, token_hash FROM service_accounts WHERE name = ?`),
      list: db.prepare<[], ServiceRow>(`SELECT ${COLUMNS} FROM service_accounts ORDER BY name`),
      setCredentials: db.prepare('UPDATE service_accounts SET token_salt = ?, token_hash = ? WHERE name = ?'),
      remove: db.prepare('DELETE FROM service_accounts WHERE name = ?'),
      touch: db.prepare('UPDATE service_accounts SET last_used_at = ? WHERE name = ?'),
    };
  }

  /** Creates the account and issues its token. */
  add(name: string): IssuedServiceAccount {
    checkName(name);
    const token = newToken();
    const salt = randomBytes(SALT_BYTES);
    try {
      this.statements.insert.run({ name, salt, hash: hashToken(salt, token), createdAt: this.now() });
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
        throw new StoreError('duplicate_service', `a service account named ${JSON.stringify(name)} already exists (rotate its token instead)`);
      }
      throw err;
    }
    this.changes.check();
    return { account: this.get(name)!, token };
  }

  get(name: string): ServiceAccountRecord | undefined {
    const row = this.statements.get.get(name);
    return row ? toRecord(row) : undefined;
  }

  list(): ServiceAccountRecord[] {
    return this.statements.list.all().map(toRecord);
  }

  /** Deletes the account; it cannot log in any more. False when there was none. */
  remove(name: string): boolean {
    const removed = this.statements.remove.run(name).changes > 0;
    if (removed) this.changes.check();
    return removed;
  }

  /** Issues a new token; the old one stops working at once. */
  rotateToken(name: string): string {
    const token = newToken();
    const salt = randomBytes(SALT_BYTES);
    if (this.statements.setCredentials.run(salt, hashToken(salt, token), name).changes === 0) {
      throw new StoreError('unknown_service', `no service account named ${JSON.stringify(name)}`);
    }
    this.changes.check();
    return token;
  }

  /** True only for an existing account with its current token (then records the login). Never throws on odd input. */
  verify(name: string, token: string): boolean {
    if (typeof name !== 'string' || typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) return false;
    const row = this.statements.credentials.get(name);
    if (!row || !timingSafeEqual(hashToken(row.token_salt, token), row.token_hash)) return false;
    this.statements.touch.run(this.now(), name);
    return true;
  }
}
