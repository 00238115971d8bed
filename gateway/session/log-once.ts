/**
 * "Log a bad input once": remembers which kinds of trouble were already logged, so a
 * device that floods bad frames produces one log line per kind, not one per frame.
 */

/** Bounds memory when a device invents endless distinct reasons (e.g. random message types). */
const MAX_REMEMBERED_KEYS = 64;

export class LogOnce {
  private readonly seen = new Set<string>();

  /** True the first time `key` is seen (until `reset`); also true when the memory is full. */
  first(key: string): boolean {
    if (this.seen.has(key)) return false;
    if (this.seen.size >= MAX_REMEMBERED_KEYS) return false;
    this.seen.add(key);
    return true;
  }

  reset(): void {
    this.seen.clear();
  }
}
