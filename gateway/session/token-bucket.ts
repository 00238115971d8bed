/**
 * Audio rate limiting (docs/protocol.md §4): a device may send audio at most `rate` × real time.
 * Tokens are milliseconds of audio; the bucket holds `burstMs` and refills at `rate` per
 * millisecond of wall time, so short bursts (network jitter, MQTT batching) pass.
 */
export class AudioTokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly rate: number,
    private readonly burstMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = burstMs;
    this.last = now();
  }

  /** Takes `audioMs` of audio if the rate allows it; false means the packet is over the limit. */
  take(audioMs: number): boolean {
    const t = this.now();
    this.tokens = Math.min(this.burstMs, this.tokens + (t - this.last) * this.rate);
    this.last = t;
    if (this.tokens < audioMs) return false;
    this.tokens -= audioMs;
    return true;
  }
}
