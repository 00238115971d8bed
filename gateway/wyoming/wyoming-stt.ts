/**
 * One Wyoming transcription: `audio-chunk`s in, `transcript` out (wyoming/asr.py).
 *
 * 16 kHz audio streams straight into the recognizer (worker threads do the decoding), so a
 * streaming recognizer's partials go out as they come: `transcript-start`, then
 * `transcript-chunk`s, each the new text since the last (so their concatenation is the
 * transcript, as the spec's own tests check), then, on `audio-stop`, the final `transcript`
 * and `transcript-stop` (the README's order; Home Assistant returns on the first
 * `transcript` and ignores the rest). Audio at another rate is kept and resampled to
 * 16 kHz in one piece at `audio-stop` (the shared resampler converts whole clips), so its
 * partials come only then.
 */
import { concatFloat32 } from '../../audio/pcm16.ts';
import { ProviderError } from '../providers.ts';
import { STT_SAMPLE_RATE, type SttProvider, type SttStream } from '../speech/types.ts';
import { audioFormatOf, pcmToMonoFloat32, type AudioFormat } from './wyoming-audio.ts';
import type { Resample } from './wyoming-catalog.ts';
import { WyomingRequestError } from './wyoming-errors.ts';

export type Send = (type: string, data?: Record<string, unknown>) => void;

export interface TranscriptionOptions {
  stt: SttProvider;
  resample: Resample;
  language?: string;
  maxAudioSeconds: number;
  send: Send;
  signal: AbortSignal;
}

/** Audio at a rate other than 16 kHz, kept for one conversion at the end. */
interface Segment {
  rate: number;
  parts: Float32Array[];
}

export class WyomingTranscription {
  private readonly stream: SttStream;
  private readonly streaming: boolean;
  private started = false;
  /** What the transcript-chunks so far add up to. */
  private sent = '';
  private seconds = 0;
  /** Set once audio arrived at another rate: from then on everything is kept for the end. */
  private segments?: Segment[];

  constructor(private readonly o: TranscriptionOptions) {
    this.streaming = o.stt.capabilities.partials;
    try {
      this.stream = o.stt.createStream({
        language: o.language,
        signal: o.signal,
        onPartial: this.streaming ? (text) => this.partial(text) : undefined,
      });
    } catch (err) {
      throw new WyomingRequestError('stt_unavailable', `speech recognition is not available: ${(err as Error).message}`);
    }
  }

  /** An audio-chunk event's data and payload. */
  chunk(data: Record<string, unknown>, payload: Buffer | undefined): void {
    const format = audioFormatOf(data, 'audio-chunk');
    const samples = pcmToMonoFloat32(payload ?? Buffer.alloc(0), format);
    if (samples.length === 0) return;
    this.seconds += samples.length / format.rate;
    if (this.seconds > this.o.maxAudioSeconds) {
      throw new WyomingRequestError('audio_too_long', `more than ${this.o.maxAudioSeconds} s of audio in one transcription`);
    }
    if (format.rate === STT_SAMPLE_RATE && !this.segments) {
      this.push(samples);
      return;
    }
    this.keep(format, samples);
  }

  /** audio-stop: sends the final transcript (and closes the streamed one). */
  async stop(): Promise<void> {
    for (const segment of this.segments ?? []) {
      const samples = concatFloat32(segment.parts);
      this.push(segment.rate === STT_SAMPLE_RATE ? samples : await this.o.resample(samples, segment.rate, STT_SAMPLE_RATE));
    }
    let text: string;
    try {
      text = (await this.stream.finish()).text;
    } catch (err) {
      if (this.o.signal.aborted || (err instanceof ProviderError && err.reason === 'aborted')) throw err;
      throw new WyomingRequestError('stt_unavailable', `speech recognition failed: ${(err as Error).message}`);
    }
    if (this.streaming) {
      this.begin();
      // The rest of the final, when the chunks so far are its beginning: then they join up to it.
      if (text.startsWith(this.sent) && text.length > this.sent.length) this.o.send('transcript-chunk', { text: text.slice(this.sent.length) });
    }
    this.o.send('transcript', this.o.language ? { text, language: this.o.language } : { text });
    if (this.streaming) this.o.send('transcript-stop');
  }

  private push(samples: Float32Array): void {
    try {
      this.stream.push(samples);
    } catch (err) {
      throw new WyomingRequestError('stt_unavailable', `speech recognition failed: ${(err as Error).message}`);
    }
  }

  private keep(format: AudioFormat, samples: Float32Array): void {
    this.segments ??= [];
    const last = this.segments[this.segments.length - 1];
    if (last?.rate === format.rate) last.parts.push(samples);
    else this.segments.push({ rate: format.rate, parts: [samples] });
  }

  private begin(): void {
    if (this.started) return;
    this.started = true;
    this.o.send('transcript-start', this.o.language ? { language: this.o.language } : undefined);
  }

  /** A partial is the whole text so far; only what it adds goes out (a revision of earlier words cannot be sent). */
  private partial(text: string): void {
    if (!text.startsWith(this.sent) || text.length === this.sent.length) return;
    this.begin();
    this.o.send('transcript-chunk', { text: text.slice(this.sent.length) });
    this.sent = text;
  }
}
