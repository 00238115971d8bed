/**
 * The composition root: builds every part from the typed config, starts them in order
 * (store → engines → sessions → HTTP/WebSocket → MQTT) and stops them in reverse.
 * Modules receive what they need as arguments; nothing here reads process.env.
 */
import { mkdirSync } from 'node:fs';
import { REPLY_SAMPLE_RATES } from '../protocol/index.ts';
import { CodecPool } from './audio/codec-pool.ts';
import { createDefaultTools, createLlmProvider, createResponder } from './brain/index.ts';
import { createHomeAssistantBridge } from './bridge/index.ts';
import type { Responder } from './brain/types.ts';
import type { Config } from './config.ts';
import { registerHttpApi } from './http/http-api.ts';
import { createHttpServer } from './http/http-server.ts';
import { createGatewayMetrics } from './http/metrics.ts';
import { createLogger, type Logger } from './logger.ts';
import { createSessionHub, type SessionHub } from './session/session-hub.ts';
import { combineSessionEvents, type SessionEvents } from './session/events.ts';
import { createSpeechEngines } from './speech/engines.ts';
import type { ProviderHealth } from './providers.ts';
import { STT_SAMPLE_RATE, type SttProvider, type TtsProvider, type TurnEndDetectorFactory } from './speech/types.ts';
import { openStore, type Store } from './store/index.ts';
import { attachWebSocketTransport, startMqttBus, startMqttDeviceTransport, type EmbeddedBroker } from './transport/index.ts';

/** Engines a caller may supply instead of the configured ones (tests use fakes from test/). */
export interface EngineOverrides {
  stt?: SttProvider;
  tts?: TtsProvider;
  turnEnd?: TurnEndDetectorFactory;
  responder?: Responder;
}

export interface StartOptions {
  logger?: Logger;
  engines?: EngineOverrides;
  events?: SessionEvents;
}

export interface RunningGateway {
  readonly httpPort: number;
  /** The codec workers (where reply encoding and upload decoding run). */
  readonly codec: CodecPool;
  /** The embedded broker's port; null when connected to an external broker. */
  readonly mqttPort: number | null;
  readonly store: Store;
  readonly sessions: SessionHub;
  stop(): Promise<void>;
}

export async function startGateway(config: Config, options: StartOptions = {}): Promise<RunningGateway> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const cleanup: Array<() => Promise<void> | void> = [];
  const stopAll = async () => {
    for (const step of cleanup.reverse()) {
      try {
        await step();
      } catch (err) {
        logger.warn({ err }, 'error while stopping');
      }
    }
    cleanup.length = 0;
  };

  try {
    mkdirSync(config.dataDir, { recursive: true });
    const store = openStore(config.dataDir);
    cleanup.push(() => store.close());

    const overrides = options.engines ?? {};
    const speech =
      overrides.stt && overrides.tts ? undefined : await createSpeechEngines(config, logger);
    if (speech) cleanup.push(() => speech.close());
    const stt = overrides.stt ?? speech!.stt;
    const tts = overrides.tts ?? speech!.tts;
    // Resampling, encoding and decoding run here, off the event loop. Converters between the
    // recognizers', devices' and voices' rates are kept; any other rate's is built per job.
    const voiceRates = [...new Set(tts.voices().map((v) => v.sampleRate))];
    const codec = await CodecPool.start({
      workers: config.audio.codecWorkers,
      cachedRates: [STT_SAMPLE_RATE, ...REPLY_SAMPLE_RATES, ...voiceRates],
      // The first voice to the usual device replies (Opus, 60 ms): the first reply finds its worker warm.
      warmup: voiceRates.slice(0, 1).flatMap((fromRate) => REPLY_SAMPLE_RATES.map((rate) => ({ fromRate, params: { format: 'opus' as const, sample_rate: rate, channels: 1 as const, frame_duration: 60 } }))),
      vad: speech?.vad,
      opusBitrate: config.audio.opusBitrate,
      logger,
    });
    cleanup.push(() => codec.close());
    // `auto` turns end with the recognizer's own VAD; detectors on the codec workers serve recognizers without one.
    const turnEnd = overrides.turnEnd ?? codec.turnEndDetectors();
    // The Home Assistant bridge: its tools, session events and service logins are wired in
    // here; it starts once the bus runs and stops before it.
    const bridge = config.bridge.enabled
      ? createHomeAssistantBridge({ config, devices: store.devices, services: store.services, logger })
      : undefined;
    const tools = createDefaultTools(config);
    for (const tool of bridge?.tools ?? []) tools.register(tool);
    // The LLM is built here (not inside the responder) so that /health can report it.
    const llm = overrides.responder ? undefined : createLlmProvider(config, logger.child({ module: 'brain' }));
    const baseResponder = overrides.responder ?? createResponder(config, { store, logger, tools, llm });
    const responder = bridge ? bridge.wrapResponder(baseResponder) : baseResponder;

    const metrics = createGatewayMetrics();
    const sessions = createSessionHub({
      stt,
      tts,
      codec,
      responder,
      turnEnd,
      recorder: store.turns,
      limits: config.limits,
      logger,
      events: combineSessionEvents(metrics.sessionEvents, bridge?.sessionEvents, options.events),
      onDeviceSeen: (deviceId) => store.devices.touch(deviceId),
    });
    cleanup.push(() => sessions.closeAll());

    const authenticate = (deviceId: string, token: string) => store.devices.verify(deviceId, token);
    // Counts the protocol errors each session sends its device (metrics).
    const openSession = metrics.instrumentOpener(sessions.openSession);

    const http = createHttpServer(logger);
    const ws = attachWebSocketTransport({
      server: http.server,
      authenticate,
      openSession,
      logger,
      maxMessageBytes: config.transport.wsMaxPayloadBytes,
      heartbeatIntervalMs: config.transport.wsHeartbeatIntervalMs,
      closeGraceMs: config.transport.wsCloseGraceMs,
    });

    const bus = await startMqttBus(config, { authenticate, authenticateService: bridge?.authenticateService, logger });
    cleanup.push(() => bus.close());
    const mqtt = await startMqttDeviceTransport({
      bus,
      topicPrefix: config.mqttTopicPrefix,
      openSession,
      logger,
    });
    cleanup.push(() => mqtt.close());
    if (bridge) {
      await bridge.start({ bus, sessions });
      cleanup.push(() => bridge.stop());
    }

    const engineHealth = (): ProviderHealth[] => [
      ...(speech ? speech.health() : [stt.health(), tts.health()]),
      ...(llm ? [{ ...llm.health(), name: `llm:${llm.name}` }] : []),
    ];
    registerHttpApi(http, {
      store,
      stt,
      tts,
      codec,
      sessions,
      health: {
        broker: () => ({ name: `mqtt:${bus.mode}`, ready: true }),
        database: () => ({ name: 'sqlite', ready: store.healthy() }),
        engines: engineHealth,
        devices: () => sessions.connectedDevices(),
      },
      config: config.http,
      logger,
      metrics,
    });

    const httpPort = await http.listen(config.host, config.httpPort);
    cleanup.push(() => http.close());
    cleanup.push(() => ws.close());
    const mqttPort = bus.mode === 'embedded' ? (bus as EmbeddedBroker).port : null;

    logger.info({ httpPort, mqttPort, mqttUrl: config.mqttUrl ? redactUrl(config.mqttUrl) : undefined, dataDir: config.dataDir }, 'ready');

    let stopped: Promise<void> | undefined;
    return {
      httpPort,
      codec,
      mqttPort,
      store,
      sessions,
      stop() {
        stopped ??= (async () => {
          logger.info('stopping');
          await stopAll();
        })();
        return stopped;
      },
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(invalid url)';
  }
}
