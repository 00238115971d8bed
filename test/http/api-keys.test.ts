/** API keys in the store, and `voxgate apikey …` end to end with the real executable. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LAST_USED_RESOLUTION_MS } from '../../gateway/store/api-key-registry.ts';
import { DATABASE_FILE, StoreError, openStore, type Store } from '../../gateway/store/index.ts';
import { runVoxgate } from '../cli/run-voxgate.ts';
import { useTempDirs } from '../helpers/temp-dir.ts';

const tempDir = useTempDirs('apikeys');

function withStore<T>(use: (store: Store, dataDir: string) => T, now?: () => number): T {
  const dataDir = tempDir();
  const store = openStore(dataDir, { now });
  try {
    return use(store, dataDir);
  } finally {
    store.close();
  }
}

function storeErrorCode(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof StoreError) return err.code;
    throw err;
  }
  return undefined;
}

describe('ApiKeyRegistry', () => {
  it('issues a key that verifies, keeps only its hash, and names it key-<id> by default', () => {
    withStore((store, dataDir) => {
      const { record, key } = store.apiKeys.create();
      expect(key).toMatch(/^vxg_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
      expect(record.name).toBe(`key-${record.id}`);
      expect(store.apiKeys.verify(key)?.id).toBe(record.id);
      store.close();
      const file = readFileSync(path.join(dataDir, DATABASE_FILE));
      expect(file.includes(Buffer.from(key.slice(-43)))).toBe(false);
    });
  });

  it('refuses near misses, other keys and odd input without throwing', () => {
    withStore((store) => {
      const { key } = store.apiKeys.create('a');
      const other = store.apiKeys.create('b').key;
      const last = key.at(-1) === 'A' ? 'B' : 'A';
      expect(store.apiKeys.verify(`${key.slice(0, -1)}${last}`)).toBeUndefined();
      // b's secret with a's id
      expect(store.apiKeys.verify(`${key.slice(0, 17)}${other.slice(17)}`)).toBeUndefined();
      for (const odd of ['', 'vxg_', key + 'x', ' ' + key, 'Bearer ' + key, 'x'.repeat(10_000), undefined, 42]) {
        expect(store.apiKeys.verify(odd as string)).toBeUndefined();
      }
      expect(store.apiKeys.verify(other)?.name).toBe('b');
    });
  });

  it('revokes by id or by name; a revoked key stops working and stays listed', () => {
    let now = 1_000_000;
    withStore(
      (store) => {
        const first = store.apiKeys.create('ci');
        const second = store.apiKeys.create('laptop');
        now += 5;
        expect(store.apiKeys.revoke('ci').id).toBe(first.record.id);
        expect(store.apiKeys.revoke(second.record.id).revokedAt).toBe(now);
        expect(store.apiKeys.verify(first.key)).toBeUndefined();
        expect(store.apiKeys.verify(second.key)).toBeUndefined();
        expect(store.apiKeys.list().map((k) => [k.name, k.revokedAt])).toEqual([
          ['ci', now],
          ['laptop', now],
        ]);
        expect(storeErrorCode(() => store.apiKeys.revoke('ci'))).toBe('unknown_api_key');
        expect(storeErrorCode(() => store.apiKeys.revoke(first.record.id))).toBe('unknown_api_key');
        expect(storeErrorCode(() => store.apiKeys.revoke('nope'))).toBe('unknown_api_key');
        // the name is free again once its key is revoked
        expect(store.apiKeys.create('ci').record.name).toBe('ci');
      },
      () => now,
    );
  });

  it('refuses a second live key with the same name, and bad names', () => {
    withStore((store) => {
      store.apiKeys.create('ci');
      expect(storeErrorCode(() => store.apiKeys.create('ci'))).toBe('duplicate_api_key');
      expect(storeErrorCode(() => store.apiKeys.create('  '))).toBe('invalid_name');
      expect(storeErrorCode(() => store.apiKeys.create('a\nb'))).toBe('invalid_name');
      expect(storeErrorCode(() => store.apiKeys.create('x'.repeat(101)))).toBe('invalid_name');
    });
  });

  it('records last use at most once per resolution interval', () => {
    let now = 5_000_000;
    withStore(
      (store) => {
        const { record, key } = store.apiKeys.create('ci');
        expect(record.lastUsedAt).toBeNull();
        store.apiKeys.verify(key);
        expect(store.apiKeys.get(record.id)?.lastUsedAt).toBe(now);
        const firstUse = now;
        now += LAST_USED_RESOLUTION_MS - 1;
        store.apiKeys.verify(key);
        expect(store.apiKeys.get(record.id)?.lastUsedAt).toBe(firstUse);
        now += 1;
        store.apiKeys.verify(key);
        expect(store.apiKeys.get(record.id)?.lastUsedAt).toBe(now);
      },
      () => now,
    );
  });
});

// Each spawn costs ~0.5-1 s (tsx startup); allow for a loaded machine.
describe('voxgate apikey (spawned)', { timeout: 90_000 }, () => {
  it('create --json prints a working key once; list never shows it; revoke by name ends it', async () => {
    const dataDir = tempDir();
    const env = { VOXGATE_DATA_DIR: dataDir };
    const created = await runVoxgate(['apikey', 'create', '--name', 'home-assistant', '--json'], env);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const issued = JSON.parse(created.stdout) as { id: string; name: string; key: string };
    expect(Object.keys(issued).sort()).toEqual(['id', 'key', 'name']);
    expect(issued.name).toBe('home-assistant');

    const human = await runVoxgate(['apikey', 'create'], env);
    expect(human.code).toBe(0);
    const humanKey = /key: (vxg_\S+)\n/.exec(human.stdout)?.[1];
    expect(humanKey).toBeDefined();

    const store = openStore(dataDir);
    try {
      expect(store.apiKeys.verify(issued.key)?.name).toBe('home-assistant');
      expect(store.apiKeys.verify(humanKey!)?.name).toMatch(/^key-[0-9a-f]{12}$/);
    } finally {
      store.close();
    }

    const listed = await runVoxgate(['apikey', 'list', '--json'], env);
    expect(listed.code).toBe(0);
    const rows = JSON.parse(listed.stdout) as Array<Record<string, unknown>>;
    expect(rows.map((r) => r.name)).toContain('home-assistant');
    expect(rows.find((r) => r.name === 'home-assistant')).toMatchObject({ id: issued.id, revokedAt: null });
    expect(listed.stdout).not.toContain(issued.key);

    const revoked = await runVoxgate(['apikey', 'revoke', 'home-assistant'], env);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toContain(`Revoked API key ${issued.id}`);

    const table = await runVoxgate(['apikey', 'list'], env);
    expect(table.stdout).toMatch(/^ID\s+NAME\s+CREATED\s+LAST USED\s+STATUS\n/);
    expect(table.stdout).toMatch(new RegExp(`${issued.id}\\s+home-assistant\\s+\\S+ \\S+\\s+\\S+ \\S+\\s+revoked `));

    const again = await runVoxgate(['apikey', 'revoke', 'home-assistant'], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/no API key with id or name "home-assistant"/);
  });
});
