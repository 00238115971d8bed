/**
 * The soak's TTS fault: wraps the gateway's real TTS (espeak-ng or a sherpa voice) and makes
 * the next N synthesize() calls fail as an engine that went down would (ProviderError
 * `unavailable`), then passes everything through again.
 */
import { ProviderError } from '../../gateway/providers.ts';
import type { TtsProvider } from '../../gateway/speech/types.ts';

export const INJECTED_TTS_FAILURE = 'soak: injected TTS failure';

export class FaultyTts implements TtsProvider {
  private failures = 0;
  /** Injected failures that a synthesis actually hit. */
  hits = 0;

  constructor(private readonly inner: TtsProvider) {}

  get name(): string {
    return this.inner.name;
  }

  /** The next `count` syntheses fail. */
  failNext(count = 1): void {
    this.failures += count;
  }

  /** Forgets failures not yet hit; returns how many there were. */
  clear(): number {
    const left = this.failures;
    this.failures = 0;
    return left;
  }

  health() {
    return this.inner.health();
  }

  voices() {
    return this.inner.voices();
  }

  synthesize(...args: Parameters<TtsProvider['synthesize']>): ReturnType<TtsProvider['synthesize']> {
    if (this.failures > 0) {
      this.failures -= 1;
      this.hits += 1;
      return Promise.reject(new ProviderError(INJECTED_TTS_FAILURE, true, 'unavailable'));
    }
    return this.inner.synthesize(...args);
  }

  close(): Promise<void> {
    return this.inner.close?.() ?? Promise.resolve();
  }
}
