/**
 * What an LLM provider's health reports: not ready while something is missing (an API
 * key) or its last request failed for a reason that will not pass by itself (refused
 * credentials, unknown model); a transient failure is only mentioned.
 */
import { ProviderError, type ProviderHealth } from '../providers.ts';

export class ProviderStatus {
  private lastFailure: ProviderError | undefined;

  constructor(
    private readonly name: string,
    /** Why the provider can never serve as configured (e.g. no API key). */
    private readonly missing?: string,
  ) {}

  health(detail: string): ProviderHealth {
    if (this.missing) return { name: this.name, ready: false, detail: this.missing };
    const failure = this.lastFailure;
    if (failure && !failure.retryable) return { name: this.name, ready: false, detail: failure.message };
    if (failure) return { name: this.name, ready: true, detail: `${detail}; last request failed: ${failure.message}` };
    return { name: this.name, ready: true, detail };
  }

  /** Passes `events` through, remembering how the request ended. */
  async *track<T>(events: AsyncIterable<T>): AsyncGenerator<T> {
    try {
      for await (const event of events) yield event;
      this.lastFailure = undefined;
    } catch (err) {
      if (err instanceof ProviderError && err.reason !== 'aborted') this.lastFailure = err;
      throw err;
    }
  }
}
