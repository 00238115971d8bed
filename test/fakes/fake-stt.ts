/**
 * A deterministic streaming recognizer for session tests. It "hears" one word per 200 ms
 * block of audio whose RMS is above a threshold (so silence transcribes as ""), emits the
 * growing text as partials, and keeps the exact samples it was given so tests can compare
 * them with what the device sent. Failure and latency are configurable.
 */
import { ProviderError, type ProviderHealth } from '../../gateway/providers.ts';
import { STT_SAMPLE_RATE, type SttProvider, type SttStream, type SttStreamOptions } from '../../gateway/speech/types.ts';

export const FAKE_STT_BLOCK_SAMPLES = STT_SAMPLE_RATE / 5; // 200 ms
export const FAKE_STT_VOICE_RMS = 0.01;
const VOCABULARY = ['turn', 'on', 'the', 'kitchen', 'light', 'please', 'and', 'then', 'tell', 'me', 'a', 'joke'];

/** The text the fake hears after `words` voiced blocks. */
export function fakeWords(words: number): string {
  return Array.from({ length: words }, (_, i) => VOCABULARY[i % VOCABULARY.length]).join(' ');
}

export interface FakeSttOptions {
  /** Where it fails: `createStream` throws, `push` throws, or `finish` rejects. */
  fail?: 'create' | 'push' | 'finish';
  /** What it throws (default: a ProviderError). */
  error?: unknown;
  /** `finish` resolves after this long (ms). */
  finishDelayMs?: number;
  /** Fixed transcript: revealed word by word as voiced blocks arrive, all of it at finish if anything was voiced. */
  transcript?: string;
}

export class FakeSttStream implements SttStream {
  readonly chunks: Float32Array[] = [];
  finished = false;
  private voicedBlocks = 0;
  private block: number[] = [];

  constructor(
    private readonly options: FakeSttOptions,
    readonly streamOptions: SttStreamOptions,
  ) {}

  get aborted(): boolean {
    return this.streamOptions.signal.aborted;
  }

  /** Every sample received, in order. */
  samples(): Float32Array {
    const out = new Float32Array(this.chunks.reduce((n, c) => n + c.length, 0));
    let offset = 0;
    for (const c of this.chunks) {
      out.set(c, offset);
      offset += c.length;
    }
    return out;
  }

  push(samples: Float32Array): void {
    if (this.options.fail === 'push') throw this.options.error ?? new ProviderError('fake stt failed on push', true, 'failed');
    if (this.finished) throw new Error('push after finish');
    this.chunks.push(samples.slice());
    for (const s of samples) {
      this.block.push(s);
      if (this.block.length === FAKE_STT_BLOCK_SAMPLES) this.endBlock();
    }
  }

  async finish(): Promise<{ text: string }> {
    this.finished = true;
    if (this.options.finishDelayMs) await sleep(this.options.finishDelayMs, this.streamOptions.signal);
    if (this.aborted) throw new ProviderError('fake stt stream aborted', false, 'aborted');
    if (this.options.fail === 'finish') throw this.options.error ?? new ProviderError('fake stt failed on finish', true, 'unavailable');
    if (this.block.length >= FAKE_STT_BLOCK_SAMPLES / 2) this.endBlock();
    if (this.options.transcript !== undefined) return { text: this.voicedBlocks > 0 ? this.options.transcript : '' };
    return { text: this.text() };
  }

  private endBlock(): void {
    let sum = 0;
    for (const s of this.block) sum += s * s;
    const voiced = Math.sqrt(sum / this.block.length) > FAKE_STT_VOICE_RMS;
    this.block = [];
    if (!voiced) return;
    this.voicedBlocks++;
    this.streamOptions.onPartial?.(this.text());
  }

  private text(): string {
    if (this.options.transcript === undefined) return fakeWords(this.voicedBlocks);
    return this.options.transcript.split(/\s+/).slice(0, this.voicedBlocks).join(' ');
  }
}

export class FakeStt implements SttProvider {
  readonly name = 'fake-stt';
  readonly capabilities = { streaming: true, partials: true };
  readonly streams: FakeSttStream[] = [];

  constructor(public options: FakeSttOptions = {}) {}

  health(): ProviderHealth {
    return { name: this.name, ready: this.options.fail === undefined };
  }

  createStream(options: SttStreamOptions): SttStream {
    if (this.options.fail === 'create') throw this.options.error ?? new ProviderError('fake stt is down', true, 'unavailable');
    const stream = new FakeSttStream(this.options, options);
    this.streams.push(stream);
    return stream;
  }

  get lastStream(): FakeSttStream | undefined {
    return this.streams[this.streams.length - 1];
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}
