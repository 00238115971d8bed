/**
 * Builds the speech engines from their config sections: the STT and TTS provider lists (each wrapped in
 * its fallback composition) and the Silero turn-end detector. Nothing here throws for a
 * missing model: the gateway starts anyway, and health/logs say which command installs
 * what is missing.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { GroqConfig } from '../groq-config.ts';
import type { Logger } from '../logger.ts';
import { EspeakTtsProvider } from './espeak-tts.ts';
import { findEspeakDataDir } from './espeak-data.ts';
import { FallbackSttProvider } from './fallback-stt.ts';
import { FallbackTtsProvider } from './fallback-tts.ts';
import { GroqWhisperSttProvider } from './groq-whisper-stt.ts';
import { installCommand } from './models/catalogue.ts';
import { resolveModelsDir } from './models/paths.ts';
import { probeModel } from './sherpa/model-probe.ts';
import { SherpaSttProvider } from './sherpa/sherpa-stt.ts';
import { SherpaTtsProvider } from './sherpa/sherpa-tts.ts';
import type { SpeechConfig } from './speech-config.ts';
import type { ProviderHealth } from '../providers.ts';
import type { SttProvider, TtsProvider, TurnEndDetectorFactory } from './types.ts';
import { sileroVadConfig, type VadSettings } from './vad/silero-config.ts';
import { SileroTurnEndDetectorFactory } from './vad/turn-end.ts';

/** The config the speech side reads (the gateway's Config has it all). */
export interface SpeechEngineConfig {
  speech: SpeechConfig;
  /** For the `groq` (Whisper) STT provider. */
  groq: GroqConfig;
  /** Models live under <dataDir>/models unless `speech.modelsDir` says otherwise. */
  dataDir: string;
}

export interface SpeechEngines {
  stt: SttProvider;
  tts: TtsProvider;
  /**
   * Absent when Silero VAD is not installed (then `auto` listen mode cannot end turns by itself).
   * Runs Silero on the calling thread (tools); the gateway ends turns with the recognizer's own
   * VAD, or detectors on its codec workers built from `vad`.
   */
  turnEnd?: TurnEndDetectorFactory;
  /** The Silero settings, when Silero is installed and loads. */
  vad?: VadSettings;
  /** The STT and TTS compositions, then each provider, then the VAD. */
  health(): ProviderHealth[];
  /**
   * A model of this kind was installed while running (first-start download): sherpa providers
   * of that kind that are not serving load it now. The VAD is only picked up at the next start.
   */
  adopt(kind: 'stt' | 'tts' | 'vad'): Promise<void>;
  close(): Promise<void>;
}

/** Where the Silero model is: configured, else <modelsDir>/silero-vad/silero_vad.onnx. */
export function vadSettingsFor(config: Pick<SpeechEngineConfig, 'speech' | 'dataDir'>): VadSettings {
  const vad = config.speech.vad;
  return {
    model: path.resolve(vad.model ?? path.join(resolveModelsDir(config), 'silero-vad', 'silero_vad.onnx')),
    threshold: vad.threshold,
    silenceMs: vad.silenceMs,
    minSpeechMs: vad.minSpeechMs,
  };
}

/** Checks the Silero model exists and loads (in a probe process: a corrupt file would abort us). */
export async function checkVad(settings: VadSettings, timeoutMs: number): Promise<ProviderHealth> {
  const install = installCommand('silero-vad');
  if (!existsSync(settings.model)) return { name: 'vad', ready: false, detail: `Silero VAD not installed (${settings.model})`, install };
  try {
    await probeModel({ kind: 'vad', config: sileroVadConfig(settings) }, timeoutMs);
    return { name: 'vad', ready: true, detail: `silero (${settings.silenceMs} ms trailing silence ends auto turns)` };
  } catch (err) {
    return { name: 'vad', ready: false, detail: `Silero VAD is broken: ${(err as Error).message}`, install };
  }
}

/** The STT composition alone (also used by `voxgate transcribe`). */
export async function createSttEngine(
  config: SpeechEngineConfig,
  logger: Logger,
  vad?: { settings: VadSettings; health: ProviderHealth },
): Promise<FallbackSttProvider> {
  const speech = config.speech;
  const vadSettings = vad?.settings ?? vadSettingsFor(config);
  const vadHealth = vad?.health ?? (await checkVad(vadSettings, speech.modelLoadTimeoutMs));
  const providers: SttProvider[] = [];
  const starts: Promise<void>[] = [];
  for (const name of speech.stt) {
    if (name === 'sherpa') {
      const provider = new SherpaSttProvider({
        settings: speech.sherpaStt,
        modelsDir: resolveModelsDir(config),
        vad: vadHealth.ready ? vadSettings : undefined,
        modelLoadTimeoutMs: speech.modelLoadTimeoutMs,
        logger,
      });
      starts.push(provider.start());
      providers.push(provider);
    } else {
      providers.push(
        new GroqWhisperSttProvider({
          apiKey: config.groq.apiKey,
          baseUrl: config.groq.baseUrl,
          model: config.groq.whisperModel,
          settings: speech.whisper,
          logger,
        }),
      );
    }
  }
  await Promise.all(starts);
  return new FallbackSttProvider(providers, logger);
}

/** The TTS composition alone (also used by `voxgate say`). */
export async function createTtsEngine(config: Pick<SpeechEngineConfig, 'speech' | 'dataDir'>, logger: Logger): Promise<FallbackTtsProvider> {
  const speech = config.speech;
  const providers: Array<SherpaTtsProvider | EspeakTtsProvider> = speech.tts.map((name) =>
    name === 'sherpa'
      ? new SherpaTtsProvider({
          settings: speech.sherpaTts,
          modelsDir: resolveModelsDir(config),
          espeakDataDir: findEspeakDataDir(speech.espeak.dataDir),
          modelLoadTimeoutMs: speech.modelLoadTimeoutMs,
          logger,
        })
      : new EspeakTtsProvider(speech.espeak, logger),
  );
  await Promise.all(providers.map((p) => p.start()));
  return new FallbackTtsProvider(providers, logger);
}

export async function createSpeechEngines(config: SpeechEngineConfig, logger: Logger): Promise<SpeechEngines> {
  const log = logger.child({ component: 'speech' });
  const vadSettings = vadSettingsFor(config);
  const vadHealth = await checkVad(vadSettings, config.speech.modelLoadTimeoutMs);
  const [stt, tts] = await Promise.all([
    createSttEngine(config, log, { settings: vadSettings, health: vadHealth }),
    createTtsEngine(config, log),
  ]);
  // No instance until one is asked for: the gateway itself never uses this one (see `turnEnd`).
  const turnEnd = vadHealth.ready ? new SileroTurnEndDetectorFactory(vadSettings, { minIdle: 0 }) : undefined;

  const health = (): ProviderHealth[] => [
    stt.health(),
    ...stt.providers.map((p) => ({ ...p.health(), name: `stt:${p.name}` })),
    tts.health(),
    ...tts.providers.map((p) => ({ ...p.health(), name: `tts:${p.name}` })),
    vadHealth,
  ];

  for (const entry of health()) {
    if (entry.ready) log.info({ engine: entry.name, detail: entry.detail }, 'speech engine ready');
    else log.warn({ engine: entry.name, detail: entry.detail, install: entry.install }, `speech engine not ready${entry.install ? ` — install: ${entry.install}` : ''}`);
  }

  return {
    stt,
    tts,
    turnEnd,
    vad: vadHealth.ready ? vadSettings : undefined,
    health,
    async adopt(kind) {
      const providers = kind === 'stt' ? stt.providers : kind === 'tts' ? tts.providers : [];
      for (const provider of providers) {
        if (!(provider instanceof SherpaSttProvider || provider instanceof SherpaTtsProvider) || provider.health().ready) continue;
        await provider.start();
        const now = provider.health();
        if (now.ready) log.info({ engine: `${kind}:${provider.name}`, detail: now.detail }, 'speech engine ready');
        else log.warn({ engine: `${kind}:${provider.name}`, detail: now.detail }, 'downloaded model did not start');
      }
      if (kind === 'vad') log.info('Silero VAD installed: it is used from the next start');
    },
    async close() {
      turnEnd?.close();
      await Promise.all([stt.close(), tts.close()]);
    },
  };
}
