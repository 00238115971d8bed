import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DATABASE_FILE, StoreError, openStore, type Store, type TurnRecord } from '../../gateway/store/index.ts';
import { useTempDirs } from '../helpers/temp-dir.ts';

const tempDir = useTempDirs('devices');

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

function turn(deviceId: string, startedAt: number): TurnRecord {
  return {
    deviceId,
    turn: startedAt,
    kind: 'audio',
    startedAt,
    endedAt: startedAt + 10,
    transcript: `said at ${startedAt}`,
    reply: 'ok',
    timings: { totalMs: 10 },
    outcome: 'completed',
  };
}

describe('DeviceRegistry', () => {
  it('adds a device and issues a 256-bit base64url token', () => {
    withStore(
      ({ devices }) => {
        const { device, token } = devices.add('kitchen-1', 'Kitchen');
        expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
        expect(Buffer.from(token, 'base64url')).toHaveLength(32);
        expect(device).toEqual({
          id: 'kitchen-1',
          name: 'Kitchen',
          createdAt: 1_700_000_000_000,
          lastSeenAt: null,
          settings: {},
          conversationStartedAt: 0,
        });
        expect(devices.get('kitchen-1')).toEqual(device);
        expect(devices.add('hall').device.name).toBe('hall');
        expect(devices.add('a').token).not.toBe(devices.add('b').token);
      },
      () => 1_700_000_000_000,
    );
  });

  it('verifies the right token only, for the right device', () => {
    withStore(({ devices }) => {
      const one = devices.add('one');
      const two = devices.add('two');
      expect(devices.verify('one', one.token)).toBe(true);
      expect(devices.verify('two', two.token)).toBe(true);
      expect(devices.verify('one', two.token)).toBe(false);
      expect(devices.verify('one', `${one.token.slice(0, -1)}${one.token.endsWith('A') ? 'B' : 'A'}`)).toBe(false);
      expect(devices.verify('one', '')).toBe(false);
      expect(devices.verify('one', 'x'.repeat(100_000))).toBe(false);
      expect(devices.verify('unknown', one.token)).toBe(false);
      expect(devices.verify('one', undefined as unknown as string)).toBe(false);
    });
  });

  it('refuses duplicate ids, invalid ids and unusable names', () => {
    withStore(({ devices }) => {
      devices.add('dup');
      expect(storeErrorCode(() => devices.add('dup'))).toBe('duplicate_device');
      for (const bad of ['', 'gateway', 'a/b', 'a+b', '-lead', 'x'.repeat(65), 'with space', '#']) {
        expect(storeErrorCode(() => devices.add(bad)), bad).toBe('invalid_device_id');
      }
      expect(storeErrorCode(() => devices.add('n1', '   '))).toBe('invalid_name');
      expect(storeErrorCode(() => devices.add('n2', 'x'.repeat(101)))).toBe('invalid_name');
      expect(storeErrorCode(() => devices.add('n3', 'tab\there'))).toBe('invalid_name');
      expect(devices.list().map((d) => d.id)).toEqual(['dup']);
    });
  });

  it('never writes a token in clear to the database files', () => {
    const dataDir = tempDir();
    const store = openStore(dataDir);
    const tokens = ['a', 'b', 'c'].map((id) => store.devices.add(id, `name-in-clear-${id}`).token);
    tokens.push(store.devices.rotateToken('a'));
    const filesToScan = () =>
      [DATABASE_FILE, `${DATABASE_FILE}-wal`]
        .map((name) => path.join(dataDir, name))
        .filter((file) => existsSync(file))
        .map((file) => readFileSync(file));
    const expectNoToken = (contents: Buffer[]) => {
      // Control: the scan does see clear text (the names are stored as is).
      expect(contents.some((bytes) => bytes.includes(Buffer.from('name-in-clear-b')))).toBe(true);
      for (const bytes of contents) {
        for (const token of tokens) {
          expect(bytes.includes(Buffer.from(token, 'utf8'))).toBe(false);
          expect(bytes.includes(Buffer.from(token, 'base64url'))).toBe(false);
        }
      }
    };
    // While open most pages sit in the WAL; after close they are checkpointed into the main file.
    expectNoToken(filesToScan());
    store.close();
    expectNoToken(filesToScan());
  });

  it('rotating a token invalidates the old one at once', () => {
    withStore(({ devices }) => {
      const { token: old } = devices.add('watch');
      const fresh = devices.rotateToken('watch');
      expect(fresh).not.toBe(old);
      expect(devices.verify('watch', old)).toBe(false);
      expect(devices.verify('watch', fresh)).toBe(true);
      expect(storeErrorCode(() => devices.rotateToken('nobody'))).toBe('unknown_device');
    });
  });

  it('removing a device deletes its turns too', () => {
    withStore((store) => {
      store.devices.add('gone');
      store.devices.add('stays');
      store.turns.recordTurn(turn('gone', 1000));
      store.turns.recordTurn(turn('gone', 2000));
      store.turns.recordTurn(turn('stays', 3000));
      expect(store.devices.remove('gone')).toBe(true);
      expect(store.devices.remove('gone')).toBe(false);
      expect(store.devices.get('gone')).toBeUndefined();
      // A new device with the same id must not inherit the old history.
      store.devices.add('gone');
      expect(store.turns.listTurns('gone')).toEqual([]);
      expect(store.turns.listTurns('stays')).toHaveLength(1);
    });
  });

  it('records last seen, settings and conversation resets, and they persist', () => {
    const dataDir = tempDir();
    const store = openStore(dataDir);
    store.devices.add('pin', 'Pin');
    expect(store.devices.touch('pin', 5_000)).toBe(true);
    expect(store.devices.touch('nobody', 5_000)).toBe(false);
    expect(store.devices.updateSettings('pin', { voice: 'amy', volume: 3 }).settings).toEqual({ voice: 'amy', volume: 3 });
    expect(store.devices.updateSettings('pin', { volume: null, language: 'en' }).settings).toEqual({
      voice: 'amy',
      language: 'en',
    });
    expect(storeErrorCode(() => store.devices.updateSettings('nobody', { a: 1 }))).toBe('unknown_device');
    expect(storeErrorCode(() => store.devices.updateSettings('pin', [] as unknown as Record<string, unknown>))).toBe(
      'invalid_argument',
    );
    expect(store.devices.resetConversation('pin', 7_000)).toBe(true);
    expect(store.devices.resetConversation('nobody', 7_000)).toBe(false);
    store.close();

    const reopened = openStore(dataDir);
    try {
      expect(reopened.devices.get('pin')).toMatchObject({
        name: 'Pin',
        lastSeenAt: 5_000,
        settings: { voice: 'amy', language: 'en' },
        conversationStartedAt: 7_000,
      });
    } finally {
      reopened.close();
    }
  });

  it('lists devices by id, without any credential fields', () => {
    withStore(({ devices }) => {
      devices.add('zeta');
      devices.add('alpha');
      devices.add('mid');
      const listed = devices.list();
      expect(listed.map((d) => d.id)).toEqual(['alpha', 'mid', 'zeta']);
      for (const record of listed) {
        expect(Object.keys(record).sort()).toEqual(
          ['conversationStartedAt', 'createdAt', 'id', 'lastSeenAt', 'name', 'settings'].sort(),
        );
      }
    });
  });
});
