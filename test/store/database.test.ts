import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DATABASE_FILE, MIGRATIONS, migrate, openDatabase, schemaVersion, type Migration } from '../../gateway/store/database.ts';
import { useTempDirs } from '../helpers/temp-dir.ts';

const tempDir = useTempDirs('db');

describe('openDatabase', () => {
  it('creates a missing data directory and the database file, owner-only', () => {
    const dataDir = path.join(tempDir(), 'nested', 'data');
    const db = openDatabase(dataDir);
    db.close();
    const file = path.join(dataDir, DATABASE_FILE);
    expect(existsSync(file)).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
  });

  it('uses WAL journaling, enforces foreign keys and waits for locks', () => {
    const db = openDatabase(tempDir(), { busyTimeoutMs: 1234 });
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
      expect(db.pragma('busy_timeout', { simple: true })).toBe(1234);
      expect(() =>
        db
          .prepare(
            "INSERT INTO turns (device_id, turn, kind, started_at, ended_at, transcript, reply, outcome) VALUES ('ghost', 1, 'audio', 0, 0, '', '', 'empty')",
          )
          .run(),
      ).toThrow(/FOREIGN KEY/);
    } finally {
      db.close();
    }
  });

  it('applies every migration once; reopening changes nothing and keeps the data', () => {
    const dataDir = tempDir();
    const first = openDatabase(dataDir);
    expect(schemaVersion(first)).toBe(MIGRATIONS.length);
    first
      .prepare("INSERT INTO devices (id, name, token_salt, token_hash, created_at) VALUES ('a', 'A', x'00', x'00', 1)")
      .run();
    expect(migrate(first)).toEqual([]);
    first.close();

    const again = openDatabase(dataDir);
    try {
      expect(schemaVersion(again)).toBe(MIGRATIONS.length);
      expect(migrate(again)).toEqual([]);
      expect(again.prepare('SELECT id FROM devices').all()).toEqual([{ id: 'a' }]);
    } finally {
      again.close();
    }
  });

  it('brings an older database up to date by applying only the newer migrations', () => {
    const dataDir = tempDir();
    const upTo1 = openDatabase(dataDir, { migrations: MIGRATIONS.slice(0, 1) });
    expect(schemaVersion(upTo1)).toBe(1);
    upTo1.close();
    const extra: Migration = {
      version: MIGRATIONS.length + 1,
      description: 'test: add a table',
      up: (db) => db.exec('CREATE TABLE extra (x INTEGER)'),
    };
    const db = openDatabase(dataDir, { migrations: [...MIGRATIONS, extra] });
    try {
      expect(schemaVersion(db)).toBe(MIGRATIONS.length + 1);
      expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'extra'").get()).toEqual({ name: 'extra' });
    } finally {
      db.close();
    }
  });

  it('rolls back a failing migration entirely and leaves the previous version', () => {
    const dataDir = tempDir();
    const broken: Migration = {
      version: MIGRATIONS.length + 1,
      description: 'test: half done, then fails',
      up(db) {
        db.exec('CREATE TABLE half_done (x INTEGER)');
        throw new Error('migration exploded');
      },
    };
    expect(() => openDatabase(dataDir, { migrations: [...MIGRATIONS, broken] })).toThrow('migration exploded');
    const db = openDatabase(dataDir);
    try {
      expect(schemaVersion(db)).toBe(MIGRATIONS.length);
      expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'half_done'").get()).toBeUndefined();
    } finally {
      db.close();
    }
  });

  it('refuses a database written by a newer voxgate', () => {
    const dataDir = tempDir();
    const db = openDatabase(dataDir);
    db.pragma(`user_version = ${MIGRATIONS.length + 5}`);
    db.close();
    expect(() => openDatabase(dataDir)).toThrow(/newer than this voxgate knows/);
  });

  it('rejects a migration list that is not numbered 1, 2, 3, …', () => {
    const skip: Migration[] = [{ ...MIGRATIONS[0]!, version: 2 }];
    expect(() => openDatabase(tempDir(), { migrations: skip })).toThrow(/out of order/);
  });
});
