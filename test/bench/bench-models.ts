/**
 * Which speech models a benchmark runs on: the configured ones when they are installed
 * (VOXGATE_MODELS_DIR, VOXGATE_STT_MODEL, VOXGATE_TTS_VOICE, …), else the test fixture
 * models, which are format-faithful but tiny: their figures measure our plumbing, not a real
 * model's arithmetic. Shared by `npm run bench:speech` and `npm run bench`.
 */
import { existsSync } from 'node:fs';
import type { Config } from '../../gateway/config.ts';
import { findEspeakDataDir } from '../../gateway/speech/espeak-data.ts';
import { resolveModelsDir } from '../../gateway/speech/models/paths.ts';
import { resolveSttModel } from '../../gateway/speech/sherpa/stt-model.ts';
import { resolveTtsModel } from '../../gateway/speech/sherpa/tts-model.ts';
import type { VadSettings } from '../../gateway/speech/vad/silero-config.ts';
import { fixtureModels } from '../fixtures/speech-fixtures.ts';
import { SILERO_VAD_MODEL } from '../helpers/fixture-paths.ts';

export interface BenchModel {
  /** What to put in the config (a catalogue name or a directory). */
  model: string;
  /** What the report calls it. */
  label: string;
  /** False when the fixture stands in for a real model. */
  real: boolean;
}

/** The configured streaming STT model when installed, else the fixture transducer. */
export function sttModel(config: Config): BenchModel {
  try {
    resolveSttModel(config.speech.sherpaStt, resolveModelsDir(config));
    return { model: config.speech.sherpaStt.model, label: config.speech.sherpaStt.model, real: true };
  } catch {
    return { model: fixtureModels().asr, label: 'fixture zipformer2 (tiny)', real: false };
  }
}

/** The configured sherpa voice when installed, else the fixture piper voice. */
export function ttsVoice(config: Config): BenchModel {
  try {
    resolveTtsModel(config.speech.sherpaTts, resolveModelsDir(config), findEspeakDataDir(config.speech.espeak.dataDir));
    return { model: config.speech.sherpaTts.voice, label: config.speech.sherpaTts.voice, real: true };
  } catch {
    return { model: fixtureModels().tts, label: 'fixture piper (tiny)', real: false };
  }
}

/** The configured Silero model, else the repository's copy (test/fixtures/models/silero-vad). */
export function vadModel(config: Config): string {
  const configured = config.speech.vad.model ?? `${resolveModelsDir(config)}/silero-vad/silero_vad.onnx`;
  return existsSync(configured) ? configured : SILERO_VAD_MODEL;
}

/** Silero settings as the gateway's defaults have them. */
export function vadSettings(config: Config): VadSettings {
  const vad = config.speech.vad;
  return { model: vadModel(config), threshold: vad.threshold, silenceMs: vad.silenceMs, minSpeechMs: vad.minSpeechMs };
}
