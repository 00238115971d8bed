/**
 * Opens the gateway's one SQLite file and brings its schema up to date.
 * Schema versions live in SQLite's `user_version` header field; each migration runs once,
 * inside its own IMMEDIATE transaction together with the version bump, so a crash or a
 * failing statement leaves the previous version intact and two processes opening the
 * same file at once (the gateway and a `voxgate device …` command) cannot both apply it.
 */
import { closeSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';

export type SqliteDatabase = Database.Database;

export const DATABASE_FILE = 'voxgate.db';

/** The gateway and a CLI command may write at once; wait this long for the lock rather than fail. */
export const DEFAULT_BUSY_TIMEOUT_MS = 5_000;

export interface Migration {
  /** 1, 2, 3, … in order; becomes `user_version` once applied. */
  version: number;
  description: string;
  up(db: SqliteDatabase): void;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'devices and their turns',
    up(db) {
      db.exec(`
        CREATE TABLE devices (
          id TEXT PRIMARY KEY NOT NULL,
          name TEXT NOT NULL,
          token_salt BLOB NOT NULL,
          token_hash BLOB NOT NULL,
          created_at INTEGER NOT NULL,
          last_seen_at INTEGER,
          settings TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(settings) AND json_type(settings) = 'object'),
          conversation_started_at INTEGER NOT NULL DEFAULT 0
        ) STRICT;

        CREATE TABLE turns (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
          turn INTEGER NOT NULL,
          kind TEXT NOT NULL,
          started_at INTEGER NOT NULL,
          ended_at INTEGER NOT NULL,
          transcript TEXT NOT NULL,
          reply TEXT NOT NULL,
          timings TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(timings)),
          outcome TEXT NOT NULL,
          error_code TEXT
        ) STRICT;

        CREATE INDEX turns_by_device_and_start ON turns (device_id, started_at);
      `);
    },
  },
  {
    version: 2,
    description: 'API keys for the HTTP API',
    up(db) {
      // Revoked keys stay listed (who had access, until when); names are unique among live keys.
      db.exec(`
        CREATE TABLE api_keys (
          id TEXT PRIMARY KEY NOT NULL,
          name TEXT NOT NULL,
          key_salt BLOB NOT NULL,
          key_hash BLOB NOT NULL,
          created_at INTEGER NOT NULL,
          last_used_at INTEGER,
          revoked_at INTEGER
        ) STRICT;

        CREATE UNIQUE INDEX api_keys_live_name ON api_keys (name) WHERE revoked_at IS NULL;
      `);
    },
  },
  {
    version: 3,
    description: 'MQTT service accounts (Home Assistant)',
    up(db) {
      db.exec(`
        CREATE TABLE service_accounts (
          name TEXT PRIMARY KEY NOT NULL,
          token_salt BLOB NOT NULL,
          token_hash BLOB NOT NULL,
          created_at INTEGER NOT NULL,
          last_used_at INTEGER
        ) STRICT;
      `);
    },
  },
  {
    version: 4,
    description: 'stock xiaozhi firmware: device MAC and client id, pairing codes',
    up(db) {
      // A xiaozhi device is known by its MAC (its `Device-Id` header) and bound to the
      // `Client-Id` it presented when it was paired (see gateway/xiaozhi/ota-route.ts).
      // Pairing codes live here, not in the gateway's memory: `voxgate device claim` runs in
      // another process. Claimed codes are kept until they expire, so a reused code is told apart.
      db.exec(`
        ALTER TABLE devices ADD COLUMN mac TEXT CHECK (mac IS NULL OR length(mac) = 17);
        ALTER TABLE devices ADD COLUMN client_id TEXT;
        CREATE UNIQUE INDEX devices_by_mac ON devices (mac) WHERE mac IS NOT NULL;

        CREATE TABLE pairing_codes (
          code TEXT PRIMARY KEY NOT NULL,
          mac TEXT NOT NULL,
          client_id TEXT,
          label TEXT NOT NULL,
          created_at INTEGER NOT NULL,
          expires_at INTEGER NOT NULL,
          claimed_at INTEGER,
          device_id TEXT REFERENCES devices(id) ON DELETE SET NULL
        ) STRICT;
        CREATE INDEX pairing_codes_by_mac ON pairing_codes (mac, created_at);

        CREATE TABLE pairing_claim_failures (at INTEGER NOT NULL) STRICT;
      `);
    },
  },
  {
    version: 5,
    description: "devices' tokens hashed for an external Mosquitto's password file",
    up(db) {
      // NULL for devices registered before: their next token gets one (`voxgate device rotate-token`).
      db.exec('ALTER TABLE devices ADD COLUMN broker_hash TEXT');
    },
  },
];

export function schemaVersion(db: SqliteDatabase): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** Applies every migration newer than the file's version. Returns the versions applied. */
export function migrate(db: SqliteDatabase, migrations: readonly Migration[] = MIGRATIONS): number[] {
  migrations.forEach((m, index) => {
    if (m.version !== index + 1) throw new Error(`migration list out of order: #${index} has version ${m.version}`);
  });
  const latest = migrations.length;
  const found = schemaVersion(db);
  if (found > latest) {
    throw new Error(`database schema version ${found} is newer than this voxgate knows (${latest}); upgrade voxgate`);
  }
  const applied: number[] = [];
  for (const migration of migrations) {
    const apply = db.transaction(() => {
      // Re-read under the write lock: another process may have migrated since we looked.
      if (schemaVersion(db) >= migration.version) return;
      migration.up(db);
      db.pragma(`user_version = ${migration.version}`);
      applied.push(migration.version);
    });
    apply.immediate();
  }
  return applied;
}

export interface DatabaseOptions {
  busyTimeoutMs?: number;
  migrations?: readonly Migration[];
}

/** Opens (creating the directory and file when missing) `<dataDir>/voxgate.db`, migrated to the latest schema. */
export function openDatabase(dataDir: string, options: DatabaseOptions = {}): SqliteDatabase {
  // 0700: the file holds only token hashes, but conversation transcripts are private too.
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = path.join(dataDir, DATABASE_FILE);
  // Create the file owner-only before SQLite does (mode applies only when it is new);
  // SQLite gives its -wal and -shm files the same permissions.
  closeSync(openSync(file, 'a', 0o600));
  const db = new Database(file);
  try {
    db.pragma(`busy_timeout = ${Math.max(0, Math.trunc(options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS))}`);
    db.pragma('journal_mode = WAL');
    // In WAL mode NORMAL skips the fsync per commit (only checkpoints sync): a process crash
    // loses nothing, a power cut may lose the last commits. It keeps thousands of devices
    // touching `last_seen_at` at once from stalling the event loop on disk flushes.
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    migrate(db, options.migrations);
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}
