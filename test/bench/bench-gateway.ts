/**
 * The gateway under benchmark: started in this process (gateway/app.ts) on loopback free
 * ports with a temporary data directory and the real engines — sherpa-onnx streaming STT
 * (the configured model when installed, else the fixture) gated by the real Silero VAD,
 * real Opus, espeak-ng TTS (or a configured sherpa voice when installed) — and the fake LLM
 * (its own process, driven by the real groq-sdk). The engines are wrapped by EngineTimer;
 * the raw ones are kept for the non-streaming baseline, so both designs share engine objects.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { startGateway, type RunningGateway } from '../../gateway/app.ts';
import { createResponder } from '../../gateway/brain/index.ts';
import type { Responder } from '../../gateway/brain/types.ts';
import { loadConfig, type Config } from '../../gateway/config.ts';
import { SESSION_EVENT_NAMES, type SessionEvents } from '../../gateway/session/events.ts';
import { createSpeechEngines, type SpeechEngines } from '../../gateway/speech/engines.ts';
import { resolveModelsDir } from '../../gateway/speech/models/paths.ts';
import { sttModel, ttsVoice, vadModel, type BenchModel } from './bench-models.ts';
import { EngineTimer } from './engine-timing.ts';
import { startFakeLlm, type FakeLlm, type FakeLlmSettings } from './fake-llm.ts';

export interface BenchGateway {
  gateway: RunningGateway;
  config: Config;
  /** The raw engines (no timing wrappers), for the baseline. */
  engines: SpeechEngines;
  responder: Responder;
  timer: EngineTimer;
  /** Adds a listener to the gateway's session events; returns its remover. */
  listen(listener: SessionEvents): () => void;
  url(transport: 'ws' | 'mqtt'): string;
  /** What ran, for the report. */
  setup: BenchSetup;
  stop(): Promise<void>;
}

export interface BenchSetup {
  stt: string;
  sttReal: boolean;
  sttWorkers: number;
  vad: string;
  tts: string;
  ttsWorkers: number | null;
  llm: FakeLlmSettings & { client: string };
  /** Preemptive generation as this gateway runs it (the bench sets `enabled`; stableMs is the user's config). */
  preemption: { enabled: boolean; stableMs: number };
}

export interface BenchGatewayOptions {
  /** Preemptive generation on (the default configuration) or off (the comparison run). */
  preemptive: boolean;
}

/** Session events fanned out to listeners that come and go during the run. */
function eventFanOut(): { events: SessionEvents; add(listener: SessionEvents): () => void } {
  const listeners = new Set<SessionEvents>();
  const events: Record<string, (e: never) => void> = {};
  for (const name of SESSION_EVENT_NAMES) {
    events[name] = (e: never) => {
      for (const listener of listeners) (listener[name] as ((e: never) => void) | undefined)?.call(listener, e);
    };
  }
  return {
    events: events as SessionEvents,
    add(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

export async function startBenchGateway(llm: FakeLlmSettings, options: BenchGatewayOptions = { preemptive: true }): Promise<BenchGateway> {
  // The user's own configuration decides where models are and which ones (env VOXGATE_*);
  // the benchmark only swaps in its own data dir, ports and the fake LLM.
  const userConfig = loadConfig({ env: process.env });
  const stt: BenchModel = sttModel(userConfig);
  const voice: BenchModel = ttsVoice(userConfig);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'voxgate-bench-'));
  let fakeLlm: FakeLlm | undefined;
  let engines: SpeechEngines | undefined;
  let gateway: RunningGateway | undefined;
  try {
    fakeLlm = await startFakeLlm(llm);
    const config = loadConfig({
      env: process.env,
      overrides: {
        dataDir,
        host: '127.0.0.1',
        httpPort: 0,
        mqttPort: 0,
        logLevel: 'warn',
        'wyoming.port': 'off',
        'speech.autoPull': false,
        'speech.modelsDir': resolveModelsDir(userConfig),
        'speech.stt': ['sherpa'],
        'speech.sherpaStt.model': stt.model,
        'speech.vad.model': vadModel(userConfig),
        // A real sherpa voice when installed; otherwise espeak-ng, a real TTS (the fixture voice only beeps).
        'speech.tts': voice.real ? ['sherpa'] : ['espeak'],
        'speech.sherpaTts.voice': voice.model,
        'groq.apiKey': 'bench',
        'groq.baseUrl': fakeLlm.baseUrl,
        'llm.providers': ['groq'],
        'preemption.enabled': options.preemptive,
      },
    });
    if (config.mqttUrl) throw new Error('the benchmark embeds its own broker; unset VOXGATE_MQTT_URL');
    const logger = pino({ level: 'warn' }, pino.destination(2));
    engines = await createSpeechEngines(config, logger);
    for (const health of engines.health()) {
      if ((health.name === 'stt' || health.name === 'tts' || health.name === 'vad') && !health.ready) {
        throw new Error(`${health.name} is not ready: ${health.detail ?? ''}${health.install ? ` (install: ${health.install})` : ''}`);
      }
    }
    const timer = new EngineTimer(engines.stt, engines.tts);
    const fanOut = eventFanOut();
    fanOut.add(timer.events);
    let responder: Responder | undefined;
    gateway = await startGateway(config, {
      logger,
      // No turnEnd: `auto` turns end with the recognizer's own Silero (in its worker), as in the gateway.
      engines: { stt: timer.stt, tts: timer.tts, responder: timer.wrapResponder(() => responder!) },
      events: fanOut.events,
    });
    responder = createResponder(config, { store: gateway.store, logger });
    const running = gateway;
    const speech = engines;
    const llmProcess = fakeLlm;
    return {
      gateway: running,
      config,
      engines: speech,
      responder,
      timer,
      listen: fanOut.add,
      url: (transport) => (transport === 'mqtt' ? `mqtt://127.0.0.1:${running.mqttPort}` : `ws://127.0.0.1:${running.httpPort}`),
      setup: {
        stt: stt.label,
        sttReal: stt.real,
        sttWorkers: config.speech.sherpaStt.workers,
        vad: path.basename(vadModel(userConfig)),
        tts: voice.real ? `sherpa ${voice.label}` : `espeak-ng ${config.speech.espeak.voice}`,
        ttsWorkers: voice.real ? config.speech.sherpaTts.workers : null,
        llm: { ...llm, client: 'groq-sdk → fake Groq server (own process)' },
        preemption: { ...config.preemption },
      },
      async stop() {
        await running.stop();
        await speech.close();
        await llmProcess.stop();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await gateway?.stop().catch(() => {});
    await engines?.close().catch(() => {});
    await fakeLlm?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
}
