/**
 * Realtime listening (listen mode `realtime`): the device's microphone stays open, also while
 * the gateway speaks (its echo cancelled on the device). Audio no turn is taking comes here:
 * it is decoded and watched for the start of speech (Silero, on a codec worker); the last packets are kept, and when
 * someone speaks they become the start of a new turn (a barge-in when a reply is under way).
 * Silence costs a decode and a VAD window, never a recognizer. Bad or excess audio is dropped
 * and logged once, as in a turn.
 */
import type { AudioFormat } from '../../protocol/index.ts';
import { createMicDecoder, type MicDecoder } from '../audio/mic-decoder.ts';
import type { Logger } from '../logger.ts';
import type { SpeechStartDetector } from '../speech/types.ts';
import type { Limits } from './limits-config.ts';
import type { InboundAudio } from './link.ts';
import { LogOnce } from './log-once.ts';
import { AudioTokenBucket } from './token-bucket.ts';

/** Audio kept before the detected start: Silero confirms speech after its minimum duration, and the first syllable must not be lost. */
export const REALTIME_PREROLL_MS = 800;

export interface SpeechWatcherOptions {
  micFormat: AudioFormat;
  micFrameMs: number;
  detector: SpeechStartDetector;
  limits: Limits;
  logger: Logger;
  /** Someone started speaking: `preroll` is the audio up to and including that moment, oldest first. */
  onSpeech(preroll: InboundAudio[]): void;
}

export class SpeechWatcher {
  private decoder: MicDecoder;
  private readonly bucket: AudioTokenBucket;
  private readonly once = new LogOnce();
  private readonly preroll: InboundAudio[] = [];
  private readonly prerollPackets: number;
  private closed = false;

  constructor(private readonly o: SpeechWatcherOptions) {
    this.decoder = createMicDecoder(o.micFormat);
    this.bucket = new AudioTokenBucket(o.limits.maxAudioRate, o.limits.rateBurstMs);
    this.prerollPackets = Math.max(1, Math.ceil(REALTIME_PREROLL_MS / o.micFrameMs));
    // A detector on a worker answers later; the packets that came meanwhile are in the pre-roll too.
    o.detector.onSpeech?.(() => this.heard());
  }

  receive(audio: InboundAudio): void {
    if (this.closed) return;
    const { packet } = audio;
    if (packet.length > this.o.limits.maxAudioFrameBytes) return this.drop('oversized', { bytes: packet.length });
    if (!this.bucket.take(this.decoder.durationMs(packet) ?? this.o.micFrameMs)) return this.drop('rate', {});
    let samples: Float32Array;
    try {
      samples = this.decoder.decode(packet);
    } catch (err) {
      return this.drop('undecodable', { err: (err as Error).message });
    }
    this.preroll.push(audio);
    if (this.preroll.length > this.prerollPackets) this.preroll.shift();
    if (this.detect(samples)) this.heard();
  }

  private heard(): void {
    if (this.closed) return;
    const heard = this.preroll.splice(0);
    // The turn takes the audio from here on; when it hands back, watching starts from silence.
    this.decoder = createMicDecoder(this.o.micFormat);
    this.o.detector.reset();
    this.o.onSpeech(heard);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.preroll.length = 0;
    this.o.detector.release();
  }

  private detect(samples: Float32Array): boolean {
    try {
      return this.o.detector.accept(samples);
    } catch (err) {
      if (this.once.first('vad')) this.o.logger.error({ err }, 'speech-start detector failed; realtime listening hears nothing');
      return false;
    }
  }

  private drop(kind: string, fields: Record<string, unknown>): void {
    if (this.once.first(kind)) this.o.logger.warn({ ...fields, kind }, 'realtime audio dropped (logged once per kind)');
  }
}
