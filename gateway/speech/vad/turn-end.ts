/**
 * Ends `auto`-mode turns with Silero VAD: once speech has been heard, the turn ends when
 * `silenceMs` of silence follows it (sherpa's VAD closes a segment exactly then).
 *
 * The gateway's recognizer normally does this with the Silero instance that already gates it
 * (one Silero per turn, in the STT worker); these detectors serve recognizers without one, and
 * then run on a codec worker (codec-pool.ts), never on the event loop. Creating a Silero
 * instance costs ~40 ms, so instances are pooled and reset between turns: every turn end
 * gives its detector back (`release()`), and instances idle for `idleMs` are dropped down
 * to `minIdle` again.
 */
import { loadSherpa, type Vad } from '../sherpa/native.ts';
import type { SpeechStartDetector, TurnEndDetector, TurnEndDetectorFactory } from '../types.ts';
import { SileroSpeechStartDetector } from './speech-start.ts';
import { sileroVadConfig, VAD_BUFFER_SECONDS, type VadSettings } from './silero-config.ts';

/** Instances made ready at start-up, so the first turns do not pay the creation cost; the pool never shrinks below this. */
export const VAD_POOL_PREWARM = 2;
/** An instance unused this long is dropped (a burst of turns must not pin its memory forever). */
export const VAD_POOL_IDLE_MS = 60_000;

export interface SileroPoolOptions {
  /** Instances created at once and kept however long they idle (default VAD_POOL_PREWARM). */
  minIdle?: number;
  /** Instances beyond `minIdle` idle longer than this are dropped (default VAD_POOL_IDLE_MS). */
  idleMs?: number;
  /** Monotonic milliseconds (tests). */
  now?: () => number;
}

export class SileroTurnEndDetectorFactory implements TurnEndDetectorFactory {
  private readonly idle: Array<{ vad: Vad; since: number }> = [];
  private readonly registry = new FinalizationRegistry<Vad>((vad) => this.recycle(vad));
  private readonly minIdle: number;
  private readonly idleMs: number;
  private readonly now: () => number;
  private readonly trimTimer: NodeJS.Timeout;
  /** Silero instances this factory has created, and those out in detectors now. */
  created = 0;
  inUse = 0;

  constructor(
    private readonly settings: VadSettings,
    options: SileroPoolOptions = {},
  ) {
    this.minIdle = options.minIdle ?? VAD_POOL_PREWARM;
    this.idleMs = options.idleMs ?? VAD_POOL_IDLE_MS;
    this.now = options.now ?? (() => performance.now());
    for (let i = 0; i < this.minIdle; i++) this.idle.push({ vad: this.make(), since: this.now() });
    this.trimTimer = setInterval(() => this.trim(), this.idleMs);
    this.trimTimer.unref();
  }

  /** Instances waiting in the pool. */
  get idleCount(): number {
    return this.idle.length;
  }

  private make(): Vad {
    this.created++;
    return new (loadSherpa().Vad)(sileroVadConfig(this.settings), VAD_BUFFER_SECONDS);
  }

  private recycle(vad: Vad): void {
    this.inUse--;
    vad.reset();
    this.idle.push({ vad, since: this.now() });
  }

  /** Drops instances idle for longer than `idleMs`, keeping at least `minIdle` (the most recently used). */
  trim(): void {
    const cutoff = this.now() - this.idleMs;
    // The pool is used as a stack: the oldest-idle instances are at the bottom.
    let drop = 0;
    while (drop < this.idle.length - this.minIdle && this.idle[drop]!.since <= cutoff) drop++;
    if (drop > 0) this.idle.splice(0, drop); // sherpa frees a dropped instance's native memory at garbage collection
  }

  create(): TurnEndDetector {
    return this.lend((vad, onRelease) => new SileroTurnEndDetector(vad, onRelease));
  }

  /** A speech-start detector over a pooled Silero instance (realtime listening). */
  createSpeechStart(): SpeechStartDetector {
    return this.lend((vad, onRelease) => new SileroSpeechStartDetector(vad, onRelease));
  }

  /** Stops the trimming timer (the pool itself goes with the factory). */
  close(): void {
    clearInterval(this.trimTimer);
  }

  private lend<D extends object>(build: (vad: Vad, onRelease: (vad: Vad) => void) => D): D {
    this.trim();
    const vad = this.idle.pop()?.vad ?? this.make();
    this.inUse++;
    const detector = build(vad, (released) => {
      this.registry.unregister(detector);
      this.recycle(released);
    });
    // A detector dropped without release() still returns its Silero instance, at garbage collection.
    this.registry.register(detector, vad, detector);
    return detector;
  }
}

export class SileroTurnEndDetector implements TurnEndDetector {
  private heardSpeech = false;
  private ended = false;
  private vad: Vad | undefined;

  constructor(
    vad: Vad,
    private readonly onRelease: (vad: Vad) => void,
  ) {
    this.vad = vad;
  }

  accept(samples: Float32Array): boolean {
    if (this.ended || !this.vad) return this.ended;
    this.vad.acceptWaveform(samples);
    if (this.vad.isDetected()) this.heardSpeech = true;
    // A finished segment means speech followed by `silenceMs` of silence.
    let segmentClosed = false;
    while (!this.vad.isEmpty()) {
      segmentClosed = true;
      this.vad.pop();
    }
    if (segmentClosed) this.heardSpeech = true;
    if (this.heardSpeech && segmentClosed && !this.vad.isDetected()) {
      this.ended = true;
      this.release();
    }
    return this.ended;
  }

  /** Returns the Silero instance to the pool (done by itself once it has ended the turn). Idempotent. */
  release(): void {
    const vad = this.vad;
    this.vad = undefined;
    if (vad) this.onRelease(vad);
  }
}
