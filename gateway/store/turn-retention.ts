/**
 * Deletes turns older than the retention (config `store.turnRetentionDays`): once at start,
 * then every TURN_PRUNE_INTERVAL_MS, in slices with a pause between so the event loop keeps
 * serving devices while a large backlog goes.
 */
import type { Logger } from '../logger.ts';
import { TURN_PRUNE_BATCH_ROWS, TURN_PRUNE_INTERVAL_MS } from './store-config.ts';
import type { TurnStore } from './turn-store.ts';

const DAY_MS = 24 * 60 * 60_000;

export interface TurnRetentionOptions {
  turns: Pick<TurnStore, 'pruneStartedBefore'>;
  /** 0: keep every turn (nothing runs). */
  retentionDays: number;
  logger: Logger;
  intervalMs?: number;
  now?: () => number;
}

export interface TurnRetention {
  /** Resolves when the pass in progress (if any) has finished. */
  idle(): Promise<void>;
  stop(): void;
}

export function startTurnRetention(o: TurnRetentionOptions): TurnRetention {
  const now = o.now ?? Date.now;
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  const pass = async () => {
    const cutoff = now() - o.retentionDays * DAY_MS;
    let deleted = 0;
    for (;;) {
      if (stopped) break;
      const n = o.turns.pruneStartedBefore(cutoff, TURN_PRUNE_BATCH_ROWS);
      deleted += n;
      if (n < TURN_PRUNE_BATCH_ROWS) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (deleted > 0) o.logger.info({ deleted, retentionDays: o.retentionDays }, 'old turns deleted');
  };
  const run = () => {
    running = running.then(pass).catch((err: unknown) => o.logger.warn({ err }, 'deleting old turns failed'));
  };
  if (o.retentionDays === 0) return { idle: () => running, stop() {} };
  run();
  const timer = setInterval(run, o.intervalMs ?? TURN_PRUNE_INTERVAL_MS);
  timer.unref();
  return {
    idle: () => running,
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
