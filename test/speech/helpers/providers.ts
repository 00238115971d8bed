/** Builds real providers on the fixture models for tests. */
import { pino } from 'pino';
import { SherpaSttProvider } from '../../../gateway/speech/sherpa/sherpa-stt.ts';
import { SherpaTtsProvider } from '../../../gateway/speech/sherpa/sherpa-tts.ts';
import { SherpaSttSchema, SherpaTtsSchema } from '../../../gateway/speech/speech-config.ts';
import type { VadSettings } from '../../../gateway/speech/vad/silero-config.ts';
import { fixtureModels } from '../../fixtures/speech-fixtures.ts';
import { SYSTEM_ESPEAK_DATA, SILERO_VAD_MODEL } from './paths.ts';

export const quietLogger = () => pino({ level: 'silent' });

export const SILERO_SETTINGS: VadSettings = { model: SILERO_VAD_MODEL, threshold: 0.5, silenceMs: 700, minSpeechMs: 250 };

export async function startSherpaStt(overrides: Record<string, unknown> = {}, opts: { vad?: VadSettings; modelsDir?: string } = {}) {
  const provider = new SherpaSttProvider({
    settings: SherpaSttSchema.parse({ model: fixtureModels().asr, ...overrides }),
    modelsDir: opts.modelsDir ?? '/nonexistent-models-dir',
    vad: opts.vad,
    modelLoadTimeoutMs: 60_000,
    logger: quietLogger(),
  });
  await provider.start();
  return provider;
}

export async function startSherpaTts(overrides: Record<string, unknown> = {}, modelsDir = '/nonexistent-models-dir') {
  const provider = new SherpaTtsProvider({
    settings: SherpaTtsSchema.parse({ voice: fixtureModels().tts, ...overrides }),
    modelsDir,
    espeakDataDir: SYSTEM_ESPEAK_DATA,
    modelLoadTimeoutMs: 60_000,
    logger: quietLogger(),
  });
  await provider.start();
  return provider;
}
