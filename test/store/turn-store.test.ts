import { describe, expect, it } from 'vitest';
import { StoreError, openStore, type Store, type TurnRecord } from '../../gateway/store/index.ts';
import { useTempDirs } from '../helpers/temp-dir.ts';

const tempDir = useTempDirs('turns');

function turn(deviceId: string, startedAt: number, overrides: Partial<TurnRecord> = {}): TurnRecord {
  return {
    deviceId,
    turn: startedAt / 1000,
    kind: 'audio',
    startedAt,
    endedAt: startedAt + 900,
    transcript: `question at ${startedAt}`,
    reply: `answer at ${startedAt}`,
    timings: { releaseToFinalMs: 120, releaseToFirstAudioMs: 640, totalMs: 900, audioMs: 1500 },
    outcome: 'completed',
    ...overrides,
  };
}

function withStore<T>(use: (store: Store) => T): T {
  const store = openStore(tempDir());
  try {
    return use(store);
  } finally {
    store.close();
  }
}

describe('TurnStore', () => {
  it('keeps every field of a turn and lists them newest first', () => {
    withStore(({ devices, turns }) => {
      devices.add('d1');
      const failed = turn('d1', 3000, { outcome: 'error', errorCode: 'llm_unavailable', reply: '', timings: {} });
      const typed = turn('d1', 2000, { kind: 'text', outcome: 'aborted' });
      expect(turns.recordTurn(turn('d1', 1000))).toBe(true);
      turns.recordTurn(failed);
      turns.recordTurn(typed);
      expect(turns.listTurns('d1')).toEqual([failed, typed, turn('d1', 1000)]);
      expect(turns.listTurns('d1', { limit: 2 }).map((t) => t.startedAt)).toEqual([3000, 2000]);
      expect('errorCode' in turns.listTurns('d1')[1]!).toBe(false);
    });
  });

  it('keeps each device to its own turns', () => {
    withStore(({ devices, turns }) => {
      devices.add('a');
      devices.add('b');
      turns.recordTurn(turn('a', 1000));
      turns.recordTurn(turn('b', 2000));
      expect(turns.listTurns('a').map((t) => t.deviceId)).toEqual(['a']);
      expect(turns.recentConversation('b').map((t) => t.deviceId)).toEqual(['b']);
      expect(turns.listTurns('nobody')).toEqual([]);
      expect(turns.recentConversation('nobody')).toEqual([]);
    });
  });

  it('drops, without throwing, a turn whose device was removed meanwhile', () => {
    withStore(({ devices, turns }) => {
      devices.add('brief');
      devices.remove('brief');
      expect(turns.recordTurn(turn('brief', 1000))).toBe(false);
      devices.add('brief');
      expect(turns.listTurns('brief')).toEqual([]);
    });
  });

  it('keeps turns across close and reopen', () => {
    const dataDir = tempDir();
    const first = openStore(dataDir);
    first.devices.add('persist');
    first.turns.recordTurn(turn('persist', 1000));
    first.turns.recordTurn(turn('persist', 2000, { transcript: 'ünïcödé 🎙️', reply: '日本語の返事' }));
    first.close();
    first.close(); // closing twice is harmless

    const second = openStore(dataDir);
    try {
      expect(second.turns.listTurns('persist')).toEqual([
        turn('persist', 2000, { transcript: 'ünïcödé 🎙️', reply: '日本語の返事' }),
        turn('persist', 1000),
      ]);
    } finally {
      second.close();
    }
  });

  it('recentConversation gives the latest turns, oldest first, within the limit', () => {
    withStore(({ devices, turns }) => {
      devices.add('talker');
      for (let i = 1; i <= 6; i++) turns.recordTurn(turn('talker', i * 1000));
      expect(turns.recentConversation('talker', { limit: 3 }).map((t) => t.startedAt)).toEqual([4000, 5000, 6000]);
      expect(turns.recentConversation('talker', { limit: 100 })).toHaveLength(6);
    });
  });

  it('recentConversation honours the time window and skips turns where nothing was said', () => {
    withStore(({ devices, turns }) => {
      devices.add('talker');
      turns.recordTurn(turn('talker', 1000));
      turns.recordTurn(turn('talker', 2000));
      turns.recordTurn(turn('talker', 3000, { transcript: '', outcome: 'empty', reply: '' }));
      turns.recordTurn(turn('talker', 4000));
      expect(turns.recentConversation('talker', { limit: 10, sinceMs: 2000 }).map((t) => t.startedAt)).toEqual([
        2000, 4000,
      ]);
      expect(turns.recentConversation('talker', { limit: 10, sinceMs: 4001 })).toEqual([]);
    });
  });

  it('recentConversation starts over after resetConversation, whichever bound is later wins', () => {
    withStore(({ devices, turns }) => {
      devices.add('talker');
      for (const at of [1000, 2000, 3000, 4000]) turns.recordTurn(turn('talker', at));
      devices.resetConversation('talker', 2500);
      expect(turns.recentConversation('talker', { limit: 10 }).map((t) => t.startedAt)).toEqual([3000, 4000]);
      expect(turns.recentConversation('talker', { limit: 10, sinceMs: 1000 }).map((t) => t.startedAt)).toEqual([
        3000, 4000,
      ]);
      expect(turns.recentConversation('talker', { limit: 10, sinceMs: 3500 }).map((t) => t.startedAt)).toEqual([4000]);
      // History is kept for listings; only the conversation memory forgets it.
      expect(turns.listTurns('talker')).toHaveLength(4);
    });
  });

  it('rejects a nonsensical limit', () => {
    withStore(({ devices, turns }) => {
      devices.add('d');
      for (const limit of [0, -1, 1.5, Number.NaN, 1_000_000]) {
        expect(() => turns.listTurns('d', { limit }), String(limit)).toThrow(StoreError);
        expect(() => turns.recentConversation('d', { limit }), String(limit)).toThrow(StoreError);
      }
    });
  });
});
