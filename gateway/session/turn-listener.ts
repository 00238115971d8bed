/**
 * The listening half of an audio turn: microphone packets → limits → (MQTT) reordering →
 * decode → streaming recognizer, until the turn is released (listen stop, the VAD, or the
 * length limit); then the final transcript. Bad audio is dropped and reported once per
 * turn; nothing here throws at the caller.
 */
import { MIC_SAMPLE_RATE, ProtocolError, type AudioFormat, type ErrorCode } from '../../protocol/index.ts';
import { createMicDecoder, type MicDecoder } from '../audio/mic-decoder.ts';
import type { Logger } from '../logger.ts';
import type { SttProvider, SttStream, TurnEndDetector, TurnEndDetectorFactory } from '../speech/types.ts';
import { FrameReorder } from './frame-reorder.ts';
import type { Limits } from './limits-config.ts';
import type { InboundAudio } from './link.ts';
import { LogOnce } from './log-once.ts';
import { AudioTokenBucket } from './token-bucket.ts';

/** docs/protocol.md §3.2: partial transcripts at most every 200 ms. */
export const PARTIAL_MIN_INTERVAL_MS = 200;

/**
 * A listening turn whose device stops sending without `listen stop` (crash, lost button
 * event) is ended after the longest legal turn plus this slack, like an over-long turn.
 */
export const LISTEN_WALL_SLACK_MS = 2_000;

/** Stands in the reorder buffer for a frame a limit dropped, so its place in the sequence is filled. */
const DROPPED_FRAME = new Uint8Array(0);

export type ReleaseReason = 'stop' | 'vad' | 'too_long';

export interface ListenerOptions {
  stt: SttProvider;
  micFormat: AudioFormat;
  /** The `frame_duration` of hello: the assumed length of a packet whose own length cannot be judged. */
  micFrameMs: number;
  limits: Limits;
  signal: AbortSignal;
  logger: Logger;
  /**
   * Present in `auto` mode: the turn ends after trailing silence, heard by the recognizer's
   * own VAD when its stream can (one Silero per turn, off the event loop), else by a detector
   * from `detectors` (none: `auto` waits for `listen stop`).
   */
  autoEnd?: { detectors?: TurnEndDetectorFactory };
  /** Called with throttled, changed partial transcripts; absent when the device does not want them. */
  onPartial?: (text: string) => void;
  /** Every partial transcript of the recognizer until release, unthrottled (preemptive generation). */
  onHeard?: (text: string) => void;
  /** Every chunk of decoded audio taken before release, after the recognizer and the VAD (preemptive generation). */
  onAudio?: (samples: Float32Array) => void;
  /** Reports a problem to the device (called at most once per code). */
  onError: (code: ErrorCode, message: string) => void;
  /** The turn was released (by stop, the VAD or the length limit). */
  onRelease: (reason: ReleaseReason) => void;
  now?: () => number;
}

export interface ListenResult {
  text: string;
  /** Set when the recognizer failed: the text is then "". */
  sttError?: unknown;
}

export class TurnListener {
  private readonly decoder: MicDecoder;
  private readonly bucket: AudioTokenBucket;
  private readonly reorder: FrameReorder;
  private readonly once = new LogOnce();
  private readonly now: () => number;
  private stream: SttStream | undefined;
  private detector: TurnEndDetector | undefined;
  private sttError: unknown;
  private arrivals = 0;
  private released = false;
  private finalizing = false;
  private flushing = false;
  private expectedFrames: number | undefined;
  private stragglerTimer: NodeJS.Timeout | undefined;
  private readonly wallTimer: NodeJS.Timeout;
  private partial: PartialThrottle | undefined;
  private resolveResult!: (r: ListenResult) => void;
  /** Milliseconds of microphone audio accepted. */
  audioMs = 0;
  /** When the turn was released (monotonic ms). */
  releasedAt: number | undefined;
  readonly result: Promise<ListenResult>;

  constructor(private readonly options: ListenerOptions) {
    this.now = options.now ?? (() => performance.now());
    this.result = new Promise((resolve) => (this.resolveResult = resolve));
    this.decoder = createMicDecoder(options.micFormat);
    this.bucket = new AudioTokenBucket(options.limits.maxAudioRate, options.limits.rateBurstMs, this.now);
    this.reorder = new FrameReorder((packet) => this.consume(packet));
    if (options.onPartial) this.partial = new PartialThrottle(options.onPartial, this.now);
    try {
      this.stream = options.stt.createStream({
        signal: options.signal,
        onPartial: (text) => {
          if (this.released) return;
          this.partial?.offer(text);
          this.options.onHeard?.(text);
        },
        onTurnEnd: options.autoEnd ? () => this.heardTurnEnd() : undefined,
      });
    } catch (err) {
      this.failStt(err);
    }
    if (options.autoEnd?.detectors && !this.stream?.endsTurns) this.detector = this.openDetector(options.autoEnd.detectors);
    options.signal.addEventListener('abort', () => this.cancel(), { once: true });
    this.wallTimer = setTimeout(() => this.tooLong(), options.limits.maxTurnMs + LISTEN_WALL_SLACK_MS);
  }

  /** Whether microphone audio is still taken (listening, or waiting for stragglers after stop). */
  get accepting(): boolean {
    return !this.finalizing && !this.options.signal.aborted && (!this.released || this.expectedFrames !== undefined);
  }

  receive(audio: InboundAudio): void {
    if (!this.accepting) return;
    const { limits } = this.options;
    const { packet } = audio;
    if (audio.seq === undefined) this.arrivals++;
    if (packet.length > limits.maxAudioFrameBytes) {
      this.report('unsupported_audio', `audio frame of ${packet.length} bytes is over the ${limits.maxAudioFrameBytes}-byte limit`);
      return this.countedArrival(audio);
    }
    const ms = this.decoder.durationMs(packet) ?? this.options.micFrameMs;
    if (!this.bucket.take(ms)) {
      this.report('rate_limited', `audio arrives faster than ${limits.maxAudioRate}× real time; excess frames are dropped`);
      return this.countedArrival(audio);
    }
    if (audio.seq === undefined) this.consume(packet);
    else this.reorder.push(audio.seq, packet);
    this.checkStragglers();
  }

  /** `listen stop`: with `frames`, waits (bounded) for frames still in flight, then finalizes. */
  stop(frames?: number): void {
    if (this.released || this.options.signal.aborted) return;
    this.expectedFrames = frames;
    this.release('stop');
    if (frames === undefined || this.received() >= frames) return this.finalize();
    this.stragglerTimer = setTimeout(() => this.finalize(), this.options.limits.stragglerWaitMs);
  }

  /** A frame dropped by a limit still arrived: it must not keep the straggler wait going. */
  private countedArrival(audio: InboundAudio): void {
    if (audio.seq !== undefined) this.reorder.push(audio.seq, DROPPED_FRAME);
    this.checkStragglers();
  }

  private received(): number {
    return this.arrivals + this.reorder.received;
  }

  private checkStragglers(): void {
    if (this.released && this.expectedFrames !== undefined && this.received() >= this.expectedFrames) this.finalize();
  }

  /** In-order packet → decoder → length limit → recognizer and VAD. */
  private consume(packet: Uint8Array): void {
    if (packet === DROPPED_FRAME || (this.finalizing && !this.flushing) || this.options.signal.aborted) return;
    let samples: Float32Array;
    try {
      samples = this.decoder.decode(packet);
    } catch (err) {
      const message = err instanceof ProtocolError ? err.message : String(err);
      this.report('unsupported_audio', message);
      return;
    }
    const ms = (samples.length * 1000) / MIC_SAMPLE_RATE;
    if (this.audioMs + ms > this.options.limits.maxTurnMs) return this.tooLong();
    this.audioMs += ms;
    if (this.stream && this.sttError === undefined) {
      try {
        this.stream.push(samples);
      } catch (err) {
        this.failStt(err);
      }
    }
    if (this.released) return;
    if (this.turnEnded(samples)) {
      this.release('vad');
      this.finalize();
      return;
    }
    this.options.onAudio?.(samples);
  }

  private openDetector(detectors: TurnEndDetectorFactory): TurnEndDetector | undefined {
    try {
      const detector = detectors.create();
      detector.onEnded?.(() => this.heardTurnEnd());
      return detector;
    } catch (err) {
      this.options.logger.error({ err }, 'no end-of-turn detector; the turn ends at listen stop');
      return undefined;
    }
  }

  private turnEnded(samples: Float32Array): boolean {
    const detector = this.detector;
    if (!detector) return false;
    try {
      return detector.accept(samples);
    } catch (err) {
      if (this.once.first('vad')) this.options.logger.error({ err }, 'end-of-turn detector failed; the turn ends at listen stop');
      return false;
    }
  }

  /** The recognizer's VAD (or a detector on a worker) heard the speaker finish. */
  private heardTurnEnd(): void {
    if (this.released || this.options.signal.aborted) return;
    this.release('vad');
    this.finalize();
  }

  /** Every turn end gives the detector's Silero instance back at once (not at garbage collection). */
  private releaseDetector(): void {
    const detector = this.detector;
    this.detector = undefined;
    try {
      detector?.release?.();
    } catch (err) {
      this.options.logger.warn({ err }, 'releasing the end-of-turn detector failed');
    }
  }

  /** docs/protocol.md §4: the turn is ended by the gateway, then handled as if `stop` came. */
  private tooLong(): void {
    if (this.released) return;
    this.report('turn_too_long', `the turn exceeded ${this.options.limits.maxTurnMs} ms of audio and was ended`);
    this.release('too_long');
    this.finalize();
  }

  private release(reason: ReleaseReason): void {
    clearTimeout(this.wallTimer);
    this.releaseDetector();
    if (this.released) return;
    this.released = true;
    this.releasedAt = this.now();
    this.partial?.cancel();
    this.options.onRelease(reason);
  }

  private finalize(): void {
    if (this.finalizing) return;
    this.finalizing = true;
    clearTimeout(this.stragglerTimer);
    this.flushing = true; // frames waiting behind a gap still go to the recognizer
    this.reorder.flush();
    this.flushing = false;
    if (this.reorder.pending === 0 && this.expectedFrames !== undefined && this.received() < this.expectedFrames) {
      this.options.logger.debug({ expected: this.expectedFrames, received: this.received() }, 'finalized without all frames');
    }
    void this.finish();
  }

  private async finish(): Promise<void> {
    if (!this.stream || this.sttError !== undefined) return this.resolveResult({ text: '', sttError: this.sttError });
    try {
      const { text } = await this.stream.finish();
      this.resolveResult({ text: text.trim() });
    } catch (err) {
      this.failStt(err);
      this.resolveResult({ text: '', sttError: err });
    }
  }

  private failStt(err: unknown): void {
    if (this.sttError !== undefined || this.options.signal.aborted) return;
    this.sttError = err ?? new Error('speech recognition failed');
  }

  private report(code: ErrorCode, message: string): void {
    if (!this.once.first(code)) return;
    this.options.logger.warn({ code }, message);
    this.options.onError(code, message);
  }

  private cancel(): void {
    clearTimeout(this.stragglerTimer);
    clearTimeout(this.wallTimer);
    this.releaseDetector();
    this.partial?.cancel();
    this.finalizing = true;
    this.resolveResult({ text: '' });
  }
}

/** Sends a partial only when it changed and at most every PARTIAL_MIN_INTERVAL_MS; the latest one is not lost. */
class PartialThrottle {
  private lastSent = '';
  private lastAt = -Infinity;
  private pending: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private cancelled = false;

  constructor(
    private readonly send: (text: string) => void,
    private readonly now: () => number,
  ) {}

  offer(text: string): void {
    if (this.cancelled) return;
    const trimmed = text.trim();
    if (trimmed === '' || trimmed === this.lastSent) {
      this.pending = undefined;
      return;
    }
    this.pending = trimmed;
    this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.cancelled || this.pending === undefined) return;
    const wait = this.lastAt + PARTIAL_MIN_INTERVAL_MS - this.now();
    if (wait <= 0) return this.emit(this.pending);
    // Timers may fire a little early against performance.now(): re-check when it fires.
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.schedule();
    }, Math.ceil(wait));
  }

  cancel(): void {
    this.cancelled = true;
    clearTimeout(this.timer);
  }

  private emit(text: string): void {
    this.pending = undefined;
    this.lastSent = text;
    this.send(text);
    // Stamped after the send, so the gap the device sees between two partials is never under the minimum.
    this.lastAt = this.now();
  }
}
