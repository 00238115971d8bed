/** A TurnRecorder for tests: keeps the records and lets a test wait for them. */
import type { TurnRecord, TurnRecorder } from '../../gateway/store/types.ts';

export class FakeRecorder implements TurnRecorder {
  readonly records: TurnRecord[] = [];
  private readonly waiters = new Set<() => void>();

  recordTurn(turn: TurnRecord): void {
    this.records.push(turn);
    for (const w of [...this.waiters]) w();
  }

  /** Resolves with the first `count` records once there are that many. */
  waitForTurns(count: number, timeoutMs = 10_000): Promise<TurnRecord[]> {
    if (this.records.length >= count) return Promise.resolve(this.records.slice(0, count));
    return new Promise((resolve, reject) => {
      const waiter = () => {
        if (this.records.length < count) return;
        clearTimeout(timer);
        this.waiters.delete(waiter);
        resolve(this.records.slice(0, count));
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`timed out waiting for ${count} recorded turns (have ${this.records.length})`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }
}
