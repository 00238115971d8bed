/** Silero VAD settings → sherpa-onnx's VadConfig. */
import type { VadConfig } from '../sherpa/native.ts';
import { STT_SAMPLE_RATE } from '../types.ts';

/** Silero's window at 16 kHz (the only size the v4/v5 models accept). */
export const SILERO_WINDOW_SAMPLES = 512;
/** sherpa's VAD keeps finished segments in a ring of this many seconds; we pop them at once, so a turn's worth is plenty. */
export const VAD_BUFFER_SECONDS = 60;

export interface VadSettings {
  model: string;
  threshold: number;
  /** Trailing silence that closes a speech segment. */
  silenceMs: number;
  minSpeechMs: number;
}

export function sileroVadConfig(settings: VadSettings): VadConfig {
  return {
    sileroVad: {
      model: settings.model,
      threshold: settings.threshold,
      minSilenceDuration: settings.silenceMs / 1000,
      minSpeechDuration: settings.minSpeechMs / 1000,
      windowSize: SILERO_WINDOW_SAMPLES,
    },
    sampleRate: STT_SAMPLE_RATE,
    numThreads: 1,
    provider: 'cpu',
    debug: 0,
  };
}
