/**
 * "Log a bad input once": remembers which kinds of trouble were already logged, so a
 * device that floods bad frames produces one log line per kind, not one per frame.
 * Memory is bounded: when it is full the oldest kind is forgotten to make room, so a long
 * session keeps logging new kinds of trouble (a forgotten kind may be logged once more).
 * Keys that name a turn belong in a LogOnce that is reset when the next turn starts.
 */

/** Bounds memory when a device invents endless distinct reasons (e.g. random message types). */
export const MAX_REMEMBERED_KEYS = 64;

export class LogOnce {
  /** In insertion order: the first one is the oldest. */
  private readonly seen = new Set<string>();

  /** True the first time `key` is seen (until `reset`, or until it is the oldest of a full memory). */
  first(key: string): boolean {
    if (this.seen.has(key)) return false;
    if (this.seen.size >= MAX_REMEMBERED_KEYS) this.seen.delete(this.seen.values().next().value!);
    this.seen.add(key);
    return true;
  }

  reset(): void {
    this.seen.clear();
  }
}
