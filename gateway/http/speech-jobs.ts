/**
 * A gate on the speech work the HTTP API starts (transcriptions, syntheses): at most
 * `limit` at once, the rest refused with `busy` at once rather than queued, so HTTP
 * clients can never take the engines away from the devices that share them.
 */
import { HttpError } from './http-errors.ts';

export class SpeechJobGate {
  private running = 0;

  constructor(private readonly limit: number) {}

  get active(): number {
    return this.running;
  }

  /** Runs `job` if a slot is free; throws `busy` (503, Retry-After: 1) otherwise. */
  async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) {
      throw new HttpError('busy', `the gateway is already running ${this.limit} speech requests; try again shortly`, { 'retry-after': '1' });
    }
    this.running++;
    try {
      return await job();
    } finally {
      this.running--;
    }
  }
}
