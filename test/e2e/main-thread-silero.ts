/** Watches the main thread's Silero use (issue 13 §2: none during turns); worker threads load their own addon. */
import { loadSherpa, type Vad, type VadConfig } from '../../gateway/speech/sherpa/native.ts';

/** Counts the Silero instances this thread creates and feeds, until restore(). */
export function watchMainThreadSilero(): { created: number; fed: number; restore(): void } {
  const sherpa = loadSherpa();
  const RealVad = sherpa.Vad;
  const watch = {
    created: 0,
    fed: 0,
    restore: () => void (sherpa.Vad = RealVad),
  };
  sherpa.Vad = class CountingVad extends (RealVad as unknown as new (config: VadConfig, seconds: number) => Vad) {
    constructor(config: VadConfig, seconds: number) {
      super(config, seconds);
      watch.created++;
    }
    override acceptWaveform(samples: Float32Array): void {
      watch.fed++;
      super.acceptWaveform(samples);
    }
  } as unknown as typeof RealVad;
  return watch;
}
