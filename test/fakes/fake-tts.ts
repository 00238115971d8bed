/**
 * A deterministic TTS for session tests: a 440 Hz tone at 22050 Hz (a typical voice rate,
 * so the resampler is exercised) whose length depends on the text. Latency and failure are
 * configurable; every request is recorded.
 */
import { ProviderError, type ProviderHealth } from '../../gateway/providers.ts';
import type { SynthesisOptions, SynthesizedAudio, TtsProvider, TtsVoice } from '../../gateway/speech/types.ts';

export const FAKE_TTS_RATE = 22050;
export const FAKE_TTS_FREQUENCY = 440;

export interface FakeTtsOptions {
  /** Audio per character of text (default 20 ms: "Hello there." → 240 ms). */
  msPerChar?: number;
  /** Synthesis takes this long (ms); aborting ends the wait. */
  delayMs?: number;
  /** Fails for every text (true) or the texts this returns true for. */
  fail?: boolean | ((text: string) => boolean);
  error?: unknown;
}

/** Audio duration the fake produces for `text`. */
export function fakeTtsDurationMs(text: string, msPerChar = 20): number {
  return text.length * msPerChar;
}

export class FakeTts implements TtsProvider {
  readonly name = 'fake-tts';
  readonly requests: Array<{ text: string; signal: AbortSignal }> = [];

  constructor(public options: FakeTtsOptions = {}) {}

  health(): ProviderHealth {
    return { name: this.name, ready: this.options.fail !== true };
  }

  voices(): TtsVoice[] {
    return [{ id: 'tone', provider: this.name, language: 'en', sampleRate: FAKE_TTS_RATE }];
  }

  async synthesize(text: string, options: SynthesisOptions): Promise<SynthesizedAudio> {
    this.requests.push({ text, signal: options.signal });
    if (this.options.delayMs) await sleep(this.options.delayMs, options.signal);
    if (options.signal.aborted) throw new ProviderError('synthesis aborted', false, 'aborted');
    const fail = this.options.fail;
    if (fail === true || (typeof fail === 'function' && fail(text))) {
      throw this.options.error ?? new ProviderError('fake tts is down', true, 'unavailable');
    }
    const n = Math.round((fakeTtsDurationMs(text, this.options.msPerChar) * FAKE_TTS_RATE) / 1000);
    const samples = new Float32Array(n);
    for (let i = 0; i < n; i++) samples[i] = 0.3 * Math.sin((2 * Math.PI * FAKE_TTS_FREQUENCY * i) / FAKE_TTS_RATE);
    return { samples, sampleRate: FAKE_TTS_RATE };
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}
