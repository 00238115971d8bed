/**
 * Everything the gateway serves over HTTP, registered on its HTTP server in one call:
 * /health, /metrics, the REST and OpenAI-compatible speech API, /api/devices and the
 * browser console. The composition root (app.ts) builds the parts and hands them in.
 */
import type { Logger } from '../logger.ts';
import type { ConnectedDevice } from '../session/session-hub.ts';
import type { SttProvider, TtsProvider } from '../speech/types.ts';
import type { Store } from '../store/index.ts';
import { createApiGuard } from './api-guard.ts';
import type { CodecPool } from '../audio/codec-pool.ts';
import { DEFAULT_CONVERTERS, findAudioConverter, type AudioConverter } from './audio-decode.ts';
import { registerDevicesRoute } from './devices-route.ts';
import { registerHealthRoute, type HealthSources } from './health.ts';
import type { HttpConfig } from './http-config.ts';
import type { HttpServer } from './http-server.ts';
import type { GatewayMetrics } from './metrics.ts';
import { registerMetricsRoute } from './metrics-route.ts';
import { registerOpenAiRoutes } from './openai-routes.ts';
import { SpeechJobGate } from './speech-jobs.ts';
import { registerStaticFiles } from './static-files.ts';
import { createUploadTranscriber } from './upload-transcriber.ts';
import { registerVoiceRoutes } from './voice-routes.ts';

export interface HttpApiDeps {
  store: Pick<Store, 'apiKeys' | 'devices' | 'turns'>;
  stt: SttProvider;
  tts: TtsProvider;
  /** The codec workers: uploads are decoded and synthesized audio resampled there (inline without). */
  codec?: Pick<CodecPool, 'decodeUpload' | 'resample'>;
  sessions: { connectedDevices(): ConnectedDevice[] };
  health: HealthSources;
  config: HttpConfig;
  logger: Logger;
  metrics: GatewayMetrics;
  /** Converters to look for, in order, for non-WAV uploads (default: ffmpeg, then sox; [] = WAV only). */
  audioConverters?: readonly AudioConverter[];
}

export interface HttpApi {
  /** The converter found for non-WAV uploads (undefined: WAV only). */
  readonly audioConverter: Promise<AudioConverter | undefined>;
}

export function registerHttpApi(http: HttpServer, deps: HttpApiDeps): HttpApi {
  const { store, config, metrics } = deps;
  const logger = deps.logger.child({ component: 'http-api' });
  http.observe(metrics.httpObserver);
  metrics.trackConnectedDevices(() => deps.sessions.connectedDevices());

  const converter = findAudioConverter(deps.audioConverters ?? DEFAULT_CONVERTERS);
  void converter.then((found) =>
    logger.info({ converter: found?.name ?? 'none' }, found ? 'non-WAV uploads are decoded with this converter' : 'no ffmpeg or sox found: uploads must be WAV'),
  );
  const guard = createApiGuard(store.apiKeys, store.devices, config.rateLimitPerMinute);
  const gate = new SpeechJobGate(config.maxConcurrentSpeechJobs);
  const jobs = deps.codec;
  const transcribe = createUploadTranscriber({ stt: deps.stt, config, metrics, gate, converter, jobs });

  registerHealthRoute(http, deps.health, store.apiKeys);
  registerMetricsRoute(http, { metrics, access: config.metricsAccess, keys: store.apiKeys });
  registerVoiceRoutes(http, { tts: deps.tts, guard, gate, transcribe, config, logger, jobs });
  registerOpenAiRoutes(http, { tts: deps.tts, guard, gate, transcribe, config, logger, jobs });
  registerDevicesRoute(http, {
    guard,
    sources: { devices: store.devices, turns: store.turns, connectedDevices: () => deps.sessions.connectedDevices() },
  });
  registerStaticFiles(http);
  return { audioConverter: converter };
}
