/**
 * The composition root: builds every part from the typed config, starts them in order
 * (store → Wyoming listener → engines → sessions → HTTP/WebSocket → MQTT) and stops them in reverse.
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
import { createLogger, droppedLogLines, type Logger } from './logger.ts';
import { logReady } from './ready-line.ts';
import { createSessionHub, type SessionHub } from './session/session-hub.ts';
import { combineSessionEvents, type SessionEvents } from './session/events.ts';
import { createSpeechEngines } from './speech/engines.ts';
import { startAutoPull } from './speech/models/auto-pull.ts';
import type { ProviderHealth } from './providers.ts';
import { resolveModelsDir } from './speech/models/paths.ts';
import { STT_SAMPLE_RATE, type SttProvider, type TtsProvider, type TurnEndDetectorFactory } from './speech/types.ts';
import { openStore, startTurnRetention, STORE_WATCH_INTERVAL_MS, type Store } from './store/index.ts';
import {
  attachWebSocketTransport,
  keepPasswordFileInStep,
  startMqttBus,
  startMqttDeviceTransport,
  type EmbeddedBroker,
  type MqttBus,
} from './transport/index.ts';
import { startWyomingServer } from './wyoming/index.ts';
import { startXiaozhi, startXiaozhiMqttUdp, XIAOZHI_WEBSOCKET_PATHS } from './xiaozhi/index.ts';

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
  /** The Wyoming server's port; null when it is off or could not listen. */
  readonly wyomingPort: number | null;
  /** The xiaozhi UDP audio port; null unless xiaozhi devices are served over MQTT + UDP. */
  readonly udpPort: number | null;
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
    const retention = startTurnRetention({ turns: store.turns, retentionDays: config.store.turnRetentionDays, logger });
    cleanup.push(async () => {
      retention.stop();
      await retention.idle(); // a slice in flight must not meet a closed database
    });

    // ── Wyoming (Home Assistant's voice pipelines): listening before the engines load, so
    // `describe` is answered at once; requests are served once the engines are attached.
    const wyoming = await startWyomingServer({
      settings: config.wyoming,
      host: config.host,
      catalog: {
        speech: config.speech,
        modelsDir: resolveModelsDir(config),
        whisperModel: config.groq.whisperModel,
        groqConfigured: config.groq.apiKey !== undefined,
        sttLanguages: config.wyoming.sttLanguages,
      },
      logger,
    });
    cleanup.push(() => wyoming.close());
    // ──

    const overrides = options.engines ?? {};
    const speech =
      overrides.stt && overrides.tts ? undefined : await createSpeechEngines(config, logger);
    if (speech) cleanup.push(() => speech.close());
    // First start: the configured models that are missing download in the background (not
    // when a caller supplied its own engines); `ready` does not wait for them.
    const modelPull = speech ? startAutoPull({ config, logger, onInstalled: (model) => speech.adopt(model.kind) }) : undefined;
    if (modelPull) cleanup.push(() => modelPull.stop());
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
    wyoming.attach({ stt, tts, resample: (samples, fromRate, toRate) => codec.resample(samples, fromRate, toRate) });
    cleanup.push(() => wyoming.close()); // stops before the engines do (idempotent)
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
    metrics.trackDroppedLogLines(() => droppedLogLines(logger)); // a stalled stdout costs lines, not service
    const sessions = createSessionHub({
      stt,
      tts,
      codec,
      responder,
      turnEnd,
      recorder: store.turns,
      limits: config.limits,
      preemption: config.preemption,
      logger,
      events: combineSessionEvents(metrics.sessionEvents, bridge?.sessionEvents, options.events),
      onDeviceSeen: (deviceId) => store.devices.touch(deviceId),
    });
    cleanup.push(() => sessions.closeAll());

    const authenticate = (deviceId: string, token: string) => store.devices.verify(deviceId, token);
    // Counts the protocol errors each session sends its device (metrics).
    const openSession = metrics.instrumentOpener(sessions.openSession);

    const http = createHttpServer(logger, { headersTimeoutMs: config.http.headersTimeoutMs, requestTimeoutMs: config.http.requestTimeoutMs });
    const ws = attachWebSocketTransport({
      server: http.server,
      authenticate,
      openSession,
      logger,
      maxMessageBytes: config.transport.wsMaxPayloadBytes,
      heartbeatIntervalMs: config.transport.wsHeartbeatIntervalMs,
      closeGraceMs: config.transport.wsCloseGraceMs,
      ignorePaths: XIAOZHI_WEBSOCKET_PATHS,
    });
    // Stock xiaozhi-esp32 firmware: OTA bootstrap, pairing, its WebSocket, and with
    // VOXGATE_XIAOZHI_TRANSPORT=mqtt its MQTT logins on the embedded broker + UDP audio (gateway/xiaozhi/).
    const xiaozhiMqtt = await startXiaozhiMqttUdp({
      config: config.xiaozhi,
      host: config.host,
      externalBroker: config.mqttUrl !== undefined,
      devices: store.devices,
      openSession,
      logger,
    });
    if (xiaozhiMqtt) cleanup.push(() => xiaozhiMqtt.close());
    const xiaozhi = startXiaozhi({
      http,
      store,
      config: config.xiaozhi,
      timeZone: config.timeZone,
      openSession,
      websocket: {
        maxMessageBytes: config.transport.wsMaxPayloadBytes,
        heartbeatIntervalMs: config.transport.wsHeartbeatIntervalMs,
        closeGraceMs: config.transport.wsCloseGraceMs,
      },
      logger,
      transportOffer: xiaozhiMqtt?.transportOffer,
    });

    const bus = await startMqttBus(config, { authenticate, authenticateService: bridge?.authenticateService, authenticateDirect: xiaozhiMqtt?.authenticate, logger });
    cleanup.push(() => bus.close());
    if (xiaozhiMqtt && bus.mode === 'embedded') {
      xiaozhiMqtt.brokerListening((bus as EmbeddedBroker).port);
      cleanup.push(() => xiaozhiMqtt.close()); // again, before the broker stops: the devices get their goodbye (idempotent)
    }
    const mqtt = await startMqttDeviceTransport({
      bus,
      topicPrefix: config.mqttTopicPrefix,
      openSession,
      logger,
      // An external broker lets through whatever its ACL allows: serve registered ids only.
      isRegistered: (deviceId) => store.devices.has(deviceId),
    });
    cleanup.push(() => mqtt.close());
    cleanup.push(applyStoreChanges(config, store, sessions, bus, logger));
    if (bridge) {
      await bridge.start({ bus, sessions });
      cleanup.push(() => bridge.stop());
    }

    const engineHealth = (): ProviderHealth[] => [
      ...(speech ? speech.health() : [stt.health(), tts.health()]),
      ...(llm ? [{ ...llm.health(), name: `llm:${llm.name}` }] : []),
      ...(config.wyoming.port !== null ? [wyoming.health()] : []),
    ];
    registerHttpApi(http, {
      store,
      stt,
      tts,
      codec,
      sessions,
      health: {
        // An external broker can go away while we run (the bus reconnects): then the gateway is down.
        broker: () =>
          bus.isConnected()
            ? { name: `mqtt:${bus.mode}`, ready: true }
            : { name: `mqtt:${bus.mode}`, ready: false, detail: 'not connected to the MQTT broker; reconnecting' },
        database: () => ({ name: 'sqlite', ready: store.healthy() }),
        engines: engineHealth,
        devices: () => sessions.connectedDevices(),
        models: modelPull ? () => modelPull.report() : undefined,
      },
      config: config.http,
      logger,
      metrics,
    });

    const httpPort = await http.listen(config.host, config.httpPort);
    cleanup.push(() => http.close());
    cleanup.push(() => ws.close());
    cleanup.push(() => xiaozhi.close());
    const mqttPort = bus.mode === 'embedded' ? (bus as EmbeddedBroker).port : null;

    const udpPort = xiaozhiMqtt?.udpPort ?? null;
    logReady(logger, { httpPort, mqttPort, wyomingPort: wyoming.port, udpPort, mqttUrl: config.mqttUrl ? redactUrl(config.mqttUrl) : undefined, dataDir: config.dataDir });

    let stopped: Promise<void> | undefined;
    return {
      httpPort,
      codec,
      mqttPort,
      wyomingPort: wyoming.port,
      udpPort,
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

/**
 * Makes changes to devices and service accounts take effect while running, whoever made them
 * (the CLI in another process is noticed within STORE_WATCH_INTERVAL_MS): a removed device or
 * one with a rotated token loses its session and connection (it reconnects with its current
 * token, or is refused), as does a removed or rotated service login on the embedded broker.
 * API keys need nothing: every request looks its key up. The bridge follows the registry itself.
 * Returns the stop.
 */
function applyStoreChanges(config: Config, store: Store, sessions: SessionHub, bus: MqttBus, logger: Logger): () => void {
  const t = config.transport;
  // An external Mosquitto's password file, when voxgate keeps it (docs/external-broker.md): written now and on every device change.
  const passwordFile = t.mosquittoPasswordFile
    ? keepPasswordFileInStep({
        file: t.mosquittoPasswordFile,
        includeFile: t.mosquittoIncludeFile,
        pidFile: t.mosquittoPidFile,
        devices: () => store.devices.brokerHashes(),
        logger,
      })
    : undefined;
  const unsubscribe = store.changes.subscribe(({ devices, services }) => {
    if (devices.added.length + devices.removed.length + devices.changed.length > 0) passwordFile?.sync();
    const ended = [
      ...devices.removed.map((id) => [id, 'device removed'] as const),
      ...devices.changed.map((id) => [id, 'device token rotated'] as const),
    ];
    for (const [id, reason] of ended) {
      sessions.closeDevice(id, reason);
      // Also a connection that has not opened a session yet (no-op on an external broker: it decides).
      bus.disconnectDevice(id);
    }
    if (bus.mode === 'embedded') for (const name of [...services.removed, ...services.changed]) (bus as EmbeddedBroker).disconnectService(name);
    if (ended.length + services.removed.length + services.changed.length > 0) {
      logger.info({ devices: ended.map(([id]) => id), services: [...services.removed, ...services.changed] }, 'registry changes applied');
    }
  });
  const stopWatching = store.changes.watch(STORE_WATCH_INTERVAL_MS);
  return () => {
    stopWatching();
    unsubscribe();
  };
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
