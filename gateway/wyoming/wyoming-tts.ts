/**
 * Wyoming synthesis (wyoming/tts.py), both forms:
 *
 * - `synthesize{text, voice}` → one `audio-start`, `audio-chunk`s, `audio-stop`: Home
 *   Assistant's non-streaming client reads until the first `audio-stop`, so the whole text
 *   is one audio group, its sentences sent as each is synthesized.
 * - `synthesize-start{voice}`, `synthesize-chunk{text}`…, `synthesize-stop` → the chunks go
 *   through the brain's SentenceSplitter; each sentence is synthesized as soon as it is
 *   complete and sent as its own audio group; `synthesize-stopped` ends the answer.
 *
 * Home Assistant writes one WAV header from the first `audio-start`, so every group of one
 * answer has the first sentence's format; a sentence from a fallback voice at another rate
 * is resampled to it. Synthesis runs in the providers' workers/processes.
 */
import { SentenceSplitter, splitSentences } from '../brain/sentence-splitter.ts';
import { ProviderError } from '../providers.ts';
import type { SynthesizedAudio, TtsProvider } from '../speech/types.ts';
import { pcm16Chunks } from './wyoming-audio.ts';
import type { Resample } from './wyoming-catalog.ts';
import { WyomingRequestError } from './wyoming-errors.ts';

export type SendAudio = (type: string, data?: Record<string, unknown>, payload?: Uint8Array) => void;

/** Which provider speaks, with which of its voice ids (undefined: its configured voice). */
export interface VoiceChoice {
  provider: TtsProvider;
  voice?: string;
}

export interface SynthesisOptions {
  choice: VoiceChoice;
  resample: Resample;
  maxTextChars: number;
  send: SendAudio;
  /** Resolves once the client has taken what was sent (socket back-pressure). */
  drained: () => Promise<void>;
  signal: AbortSignal;
}

const PCM16 = { width: 2, channels: 1 };

export class WyomingSynthesis {
  private rate?: number;
  private chars = 0;
  /** Sentences are synthesized one after another, in order. */
  private work: Promise<void> = Promise.resolve();
  private failure?: unknown;
  private splitter?: SentenceSplitter;
  /** Samples sent in the current group (audio-chunk timestamps are their milliseconds). */
  private groupSamples = 0;

  constructor(private readonly o: SynthesisOptions) {}

  /** Non-streaming: the whole text as one audio group. */
  async speakWhole(text: string): Promise<void> {
    this.count(text);
    const sentences = splitSentences(text);
    let groupOpen = false;
    for (const sentence of sentences) {
      const audio = await this.synthesize(sentence);
      if (!groupOpen) {
        this.rate = audio.sampleRate;
        this.startGroup();
        groupOpen = true;
      }
      await this.sendSamples(audio);
    }
    if (!groupOpen) {
      // Nothing to say: still a complete (empty) answer, at the voice's usual format.
      this.rate = this.o.choice.provider.voices()[0]?.sampleRate ?? 16000;
      this.startGroup();
    }
    this.o.send('audio-stop', { timestamp: this.timestamp });
  }

  /** synthesize-start: text will come in chunks. */
  startStream(): void {
    this.splitter = new SentenceSplitter();
  }

  get streaming(): boolean {
    return this.splitter !== undefined;
  }

  /** synthesize-chunk: queues each sentence the text completes. Throws a pending failure. */
  pushText(text: string): void {
    if (this.failure) throw this.failure;
    this.count(text);
    for (const sentence of this.splitter!.push(text)) this.queue(sentence);
  }

  /** synthesize-stop: the rest of the text, then `synthesize-stopped` once all audio is out. */
  async stopStream(): Promise<void> {
    for (const sentence of this.splitter!.flush()) this.queue(sentence);
    await this.work;
    if (this.failure) throw this.failure;
    this.o.send('synthesize-stopped');
  }

  private count(text: string): void {
    this.chars += text.length;
    if (this.chars > this.o.maxTextChars) {
      throw new WyomingRequestError('text_too_long', `more than ${this.o.maxTextChars} characters of text in one synthesis`);
    }
  }

  private queue(sentence: string): void {
    this.work = this.work.then(async () => {
      if (this.failure || this.o.signal.aborted) return;
      try {
        const audio = await this.synthesize(sentence);
        this.rate ??= audio.sampleRate;
        this.startGroup();
        await this.sendSamples(audio);
        this.o.send('audio-stop', { timestamp: this.timestamp });
      } catch (err) {
        this.failure = err;
      }
    });
  }

  private get timestamp(): number {
    return Math.round((this.groupSamples * 1000) / this.rate!);
  }

  private startGroup(): void {
    this.groupSamples = 0;
    this.o.send('audio-start', { rate: this.rate, ...PCM16, timestamp: 0 });
  }

  private async synthesize(sentence: string): Promise<SynthesizedAudio> {
    const { provider, voice } = this.o.choice;
    try {
      return await provider.synthesize(sentence, { voice, signal: this.o.signal });
    } catch (err) {
      if (this.o.signal.aborted || (err instanceof ProviderError && err.reason === 'aborted')) throw err;
      throw new WyomingRequestError('tts_unavailable', `speech synthesis failed: ${(err as Error).message}`);
    }
  }

  /** Sends one sentence's audio at the answer's rate, in chunks, waiting for a slow reader. */
  private async sendSamples(audio: SynthesizedAudio): Promise<void> {
    const rate = this.rate!;
    const samples = audio.sampleRate === rate ? audio.samples : await this.o.resample(audio.samples, audio.sampleRate, rate);
    for (const chunk of pcm16Chunks(samples)) {
      this.o.send('audio-chunk', { rate, ...PCM16, timestamp: this.timestamp }, chunk);
      this.groupSamples += chunk.length / 2;
    }
    await this.o.drained();
  }
}
