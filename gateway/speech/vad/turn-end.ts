/**
 * Ends `auto`-mode turns with Silero VAD: once speech has been heard, the turn ends when
 * `silenceMs` of silence follows it (sherpa's VAD closes a segment exactly then).
 *
 * Runs on the main thread: measured ~0.1 ms of Silero per 20 ms frame (see the speech
 * benchmark), far below what would disturb the event loop. Creating a Silero instance
 * costs ~40 ms, so instances are pooled and reset between turns.
 */
import { loadSherpa, type Vad } from '../sherpa/native.ts';
import type { SpeechStartDetector, TurnEndDetector, TurnEndDetectorFactory } from '../types.ts';
import { SileroSpeechStartDetector } from './speech-start.ts';
import { sileroVadConfig, VAD_BUFFER_SECONDS, type VadSettings } from './silero-config.ts';

/** Instances made ready at start-up, so the first turns do not pay the creation cost. */
export const VAD_POOL_PREWARM = 2;

export class SileroTurnEndDetectorFactory implements TurnEndDetectorFactory {
  private readonly idle: Vad[] = [];
  private readonly registry = new FinalizationRegistry<Vad>((vad) => this.recycle(vad));

  constructor(private readonly settings: VadSettings) {
    for (let i = 0; i < VAD_POOL_PREWARM; i++) this.idle.push(this.make());
  }

  private make(): Vad {
    return new (loadSherpa().Vad)(sileroVadConfig(this.settings), VAD_BUFFER_SECONDS);
  }

  private recycle(vad: Vad): void {
    vad.reset();
    this.idle.push(vad);
  }

  create(): TurnEndDetector {
    const vad = this.idle.pop() ?? this.make();
    const detector = new SileroTurnEndDetector(vad, (released) => {
      this.registry.unregister(detector);
      this.recycle(released);
    });
    // A detector the session simply drops still returns its Silero instance to the pool.
    this.registry.register(detector, vad, detector);
    return detector;
  }

  /** A speech-start detector over a pooled Silero instance (realtime listening). */
  createSpeechStart(): SpeechStartDetector {
    const vad = this.idle.pop() ?? this.make();
    const detector = new SileroSpeechStartDetector(vad, (released) => {
      this.registry.unregister(detector);
      this.recycle(released);
    });
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

  /** Returns the Silero instance to the pool early (also done automatically once the turn ends). */
  release(): void {
    const vad = this.vad;
    this.vad = undefined;
    if (vad) this.onRelease(vad);
  }
}
