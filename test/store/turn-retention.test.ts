/**
 * Turn retention (issue 11 item 8): turns older than VOXGATE_TURN_RETENTION_DAYS (default 30)
 * are deleted at start and then periodically, in slices; 0 keeps them all.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startGateway } from '../../gateway/app.ts';
import { loadConfig } from '../../gateway/config.ts';
import { openDatabase, openStore, startTurnRetention, type Store, type TurnRecord } from '../../gateway/store/index.ts';
import { TURN_PRUNE_BATCH_ROWS } from '../../gateway/store/store-config.ts';
import { createCaptureLogger, discardLogger } from '../fakes/capture-logger.ts';
import { FakeResponder } from '../fakes/fake-responder.ts';
import { FakeStt } from '../fakes/fake-stt.ts';
import { FakeTts } from '../fakes/fake-tts.ts';
import { useTempDirs } from '../helpers/temp-dir.ts';

const tempDir = useTempDirs('turn-retention');
const DAY = 24 * 60 * 60_000;
const NOW = Date.UTC(2026, 11, 4, 12);
const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

const turn = (deviceId: string, n: number, startedAt: number): TurnRecord => ({
  deviceId,
  turn: n,
  kind: 'text',
  startedAt,
  endedAt: startedAt + 1000,
  transcript: `question ${n}`,
  reply: `answer ${n}`,
  timings: {},
  outcome: 'completed',
});

function storeWithTurns(dir: string, ages: number[], now = NOW): Store {
  const store = openStore(dir);
  store.devices.add('d1');
  ages.forEach((ageDays, i) => store.turns.recordTurn(turn('d1', i + 1, now - ageDays * DAY)));
  return store;
}

const remainingTurns = (store: Store) => store.turns.listTurns('d1', { limit: 1000 }).map((t) => t.turn).sort((a, b) => a - b);

describe('turn retention', () => {
  it('the setting: VOXGATE_TURN_RETENTION_DAYS, default 30, 0 allowed, negative refused', () => {
    expect(loadConfig({ env: {} }).store.turnRetentionDays).toBe(30);
    expect(loadConfig({ env: { VOXGATE_TURN_RETENTION_DAYS: '7' } }).store.turnRetentionDays).toBe(7);
    expect(loadConfig({ env: { VOXGATE_TURN_RETENTION_DAYS: '0' } }).store.turnRetentionDays).toBe(0);
    expect(() => loadConfig({ env: { VOXGATE_TURN_RETENTION_DAYS: '-1' } })).toThrow(/store.turnRetentionDays/);
  });

  it('deletes turns that started before the retention, and only those', async () => {
    const store = storeWithTurns(tempDir(), [400, 31, 30.01, 29.99, 1, 0]);
    cleanup.push(() => store.close());
    const log = createCaptureLogger();
    const retention = startTurnRetention({ turns: store.turns, retentionDays: 30, logger: log.logger, now: () => NOW });
    cleanup.push(() => retention.stop());
    await retention.idle();
    expect(remainingTurns(store)).toEqual([4, 5, 6]);
    expect(log.matching('old turns deleted')).toEqual([expect.objectContaining({ deleted: 3, retentionDays: 30 })]);
  });

  it('works through a backlog in slices, and keeps everything at 0 days', async () => {
    const ages = Array.from({ length: TURN_PRUNE_BATCH_ROWS * 2 + 7 }, () => 90).concat([2]);
    const dir = tempDir();
    const store = storeWithTurns(dir, ages);
    cleanup.push(() => store.close());
    const count = () => {
      const db = openDatabase(dir);
      try {
        return (db.prepare('SELECT count(*) AS n FROM turns').get() as { n: number }).n;
      } finally {
        db.close();
      }
    };
    const keep = startTurnRetention({ turns: store.turns, retentionDays: 0, logger: discardLogger(), now: () => NOW });
    await keep.idle();
    expect(count()).toBe(ages.length);

    const slices: number[] = [];
    const counting = { pruneStartedBefore: (cutoff: number, limit: number) => slices[slices.push(store.turns.pruneStartedBefore(cutoff, limit)) - 1]! };
    const retention = startTurnRetention({ turns: counting, retentionDays: 30, logger: discardLogger(), now: () => NOW });
    cleanup.push(() => retention.stop());
    await retention.idle();
    expect(slices).toEqual([TURN_PRUNE_BATCH_ROWS, TURN_PRUNE_BATCH_ROWS, 7]);
    expect(remainingTurns(store)).toEqual([ages.length]);
  });

  it('the gateway deletes old turns when it starts', async () => {
    const dir = tempDir();
    const now = Date.now();
    storeWithTurns(dir, [45, 31, 3], now).close();
    const config = loadConfig({ env: { VOXGATE_TURN_RETENTION_DAYS: '30' }, overrides: { dataDir: dir, host: '127.0.0.1', httpPort: 0, mqttPort: 0, 'wyoming.port': 'off' } });
    const gateway = await startGateway(config, { logger: discardLogger(), engines: { stt: new FakeStt(), tts: new FakeTts(), responder: new FakeResponder() } });
    cleanup.push(() => gateway.stop());
    const deadline = Date.now() + 5_000;
    while (remainingTurns(gateway.store).length > 1 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(remainingTurns(gateway.store)).toEqual([3]);
  });
});
