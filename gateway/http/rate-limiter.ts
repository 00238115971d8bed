/**
 * Per-key request rate limit: a token bucket per API key (or device) that holds
 * `perMinute` requests and refills at `perMinute` per minute. Buckets that are full
 * again carry no information and are dropped, so idle keys cost no memory.
 */
import { HttpError } from './http-errors.ts';

interface Bucket {
  tokens: number;
  last: number;
}

/** Full buckets are swept this often. */
const SWEEP_INTERVAL_MS = 60_000;

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly refillPerMs: number;
  private lastSweep: number;

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.refillPerMs = perMinute / 60_000;
    this.lastSweep = now();
  }

  /** Takes one request from `key`'s bucket, or throws `rate_limited` with Retry-After. */
  take(key: string): void {
    const t = this.now();
    this.sweep(t);
    const bucket = this.buckets.get(key) ?? { tokens: this.perMinute, last: t };
    bucket.tokens = Math.min(this.perMinute, bucket.tokens + (t - bucket.last) * this.refillPerMs);
    bucket.last = t;
    this.buckets.set(key, bucket);
    if (bucket.tokens < 1) {
      const waitSeconds = Math.max(1, Math.ceil((1 - bucket.tokens) / this.refillPerMs / 1000));
      throw new HttpError('rate_limited', `too many requests for this key (limit ${this.perMinute} per minute)`, {
        'retry-after': String(waitSeconds),
      });
    }
    bucket.tokens -= 1;
  }

  private sweep(t: number): void {
    if (t - this.lastSweep < SWEEP_INTERVAL_MS) return;
    this.lastSweep = t;
    for (const [key, bucket] of this.buckets) {
      if (bucket.tokens + (t - bucket.last) * this.refillPerMs >= this.perMinute) this.buckets.delete(key);
    }
  }
}
