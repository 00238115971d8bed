/**
 * Everything one soak phase runs against, started in order and stopped in reverse: a data
 * directory with the devices registered and an API key, the fake LLM (own process), for the
 * `mosquitto` phase a real Mosquitto with those devices' passwords, and the gateway child.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DeviceCredentials } from '../../device-sim/load-credentials.ts';
import { registerLoadDevices } from '../../device-sim/load-register.ts';
import { loadConfig, type Config } from '../../gateway/config.ts';
import { resolveModelsDir } from '../../gateway/speech/models/paths.ts';
import { openStore } from '../../gateway/store/index.ts';
import { sttModel, ttsVoice, vadModel } from '../bench/bench-models.ts';
import { startFakeLlm, type FakeLlm } from '../bench/fake-llm.ts';
import { bridgeMosquittoAcl } from '../bridge/helpers/bridge-world.ts';
import { REPO_ROOT } from '../helpers/fixture-paths.ts';
import { startMosquitto, type Mosquitto } from '../transport/mosquitto.ts';
import { startGatewayChild, type GatewayChild } from './gateway-child.ts';

export type BrokerMode = 'embedded' | 'mosquitto';

/** Two sentences (about 3 s spoken), so that a stall after the first leaves the device mid-reply. */
export const SOAK_REPLY = 'Sure, the kitchen light is on now. Anything else?';
/** The fake LLM: a quick model (first token after 150 ms, 40 words a second). */
export const SOAK_LLM = { ttftMs: 150, tokensPerSecond: 40, reply: SOAK_REPLY };
/**
 * Short LLM timeouts, so that a stalled request ends its turn in seconds, not the default 8 / 30:
 * the fake answers within 150 ms + 40 words/s, so only an injected stall comes near them.
 */
export const SOAK_LLM_TIMEOUTS = { firstTokenTimeoutMs: 3_000, totalTimeoutMs: 5_000 };
const GATEWAY_MQTT_USER = 'gateway';

export interface SoakWorld {
  broker: BrokerMode;
  config: Pick<Config, 'limits' | 'llm' | 'mqttTopicPrefix'>;
  devices: DeviceCredentials[];
  /** Devices that send malformed frames: one per transport. */
  malformed: DeviceCredentials[];
  apiKey: string;
  llm: FakeLlm;
  mosquitto: Mosquitto | undefined;
  gateway: GatewayChild;
  httpUrl: string;
  /** Where devices connect, by transport. */
  url(transport: 'websocket' | 'mqtt'): string;
  setup: { stt: string; sttReal: boolean; vad: string; tts: string };
  stop(): Promise<{ ms: number; killed: boolean }>;
}

/** `gatewayLog`: a file that also gets the gateway's whole log. */
export async function startSoakWorld(broker: BrokerMode, deviceCount: number, gatewayLog?: string): Promise<SoakWorld> {
  const userConfig = loadConfig({ env: process.env });
  if (userConfig.mqttUrl) throw new Error('the soak chooses its own broker; unset VOXGATE_MQTT_URL');
  const stt = sttModel(userConfig);
  const voice = ttsVoice(userConfig);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'voxgate-soak-'));
  const cleanup: Array<() => Promise<unknown> | void> = [() => rmSync(dataDir, { recursive: true, force: true })];
  const stopAll = async () => {
    for (const step of cleanup.reverse()) await Promise.resolve(step()).catch(() => {});
    cleanup.length = 0;
  };
  try {
    const devices = registerLoadDevices(dataDir, deviceCount, 'soak-');
    const malformed = registerLoadDevices(dataDir, 2, 'soak-bad-');
    const store = openStore(dataDir);
    const apiKey = store.apiKeys.create('soak').key;
    store.close();

    const gatewayPassword = randomBytes(12).toString('hex');
    const users = Object.fromEntries([...devices, ...malformed].map((d) => [d.id, d.token]));
    const [llmStart, mosquittoStart] = await Promise.allSettled([
      startFakeLlm(SOAK_LLM),
      broker === 'mosquitto' ? startMosquitto({ [GATEWAY_MQTT_USER]: gatewayPassword, ...users }, bridgeMosquittoAcl()) : Promise.resolve(undefined),
    ]);
    if (llmStart.status === 'fulfilled') cleanup.push(() => llmStart.value.stop());
    if (mosquittoStart.status === 'fulfilled' && mosquittoStart.value) cleanup.push(() => mosquittoStart.value!.stop());
    if (llmStart.status === 'rejected') throw llmStart.reason;
    if (mosquittoStart.status === 'rejected') throw mosquittoStart.reason;
    const llm = llmStart.value;
    const mosquitto: Mosquitto | undefined = mosquittoStart.value;
    const overrides: Record<string, unknown> = {
      dataDir,
      host: '127.0.0.1',
      httpPort: 0,
      mqttPort: 0,
      // Info: a stuck device's report carries what the gateway said about it.
      logLevel: 'info',
      'speech.modelsDir': resolveModelsDir(userConfig),
      'speech.stt': ['sherpa'],
      'speech.sherpaStt.model': stt.model,
      'speech.vad.model': vadModel(userConfig),
      // A real sherpa voice when installed; otherwise espeak-ng, a real TTS (the fixture voice only beeps).
      'speech.tts': voice.real ? ['sherpa'] : ['espeak'],
      'speech.sherpaTts.voice': voice.model,
      'groq.apiKey': 'soak',
      'groq.baseUrl': llm.baseUrl,
      'llm.providers': ['groq'],
      'llm.firstTokenTimeoutMs': SOAK_LLM_TIMEOUTS.firstTokenTimeoutMs,
      'llm.totalTimeoutMs': SOAK_LLM_TIMEOUTS.totalTimeoutMs,
      // The soak polls /api/devices twice a second; the per-key limit is for runaway clients.
      'http.rateLimitPerMinute': 1_000_000,
      ...(mosquitto ? { mqttUrl: mosquitto.url, mqttUsername: GATEWAY_MQTT_USER, mqttPassword: gatewayPassword } : {}),
    };
    const config = loadConfig({ env: process.env, overrides });
    const gateway = await startGatewayChild(overrides, REPO_ROOT, gatewayLog);
    cleanup.push(() => gateway.stop());
    const httpUrl = `http://127.0.0.1:${gateway.httpPort}`;
    let stopping: Promise<{ ms: number; killed: boolean }> | undefined;
    const mqttUrl = mosquitto?.url ?? `mqtt://127.0.0.1:${gateway.mqttPort}`;
    return {
      broker,
      config,
      devices,
      malformed,
      apiKey,
      llm,
      mosquitto,
      gateway,
      httpUrl,
      url: (transport) => (transport === 'mqtt' ? mqttUrl : `ws://127.0.0.1:${gateway.httpPort}`),
      setup: {
        stt: stt.label,
        sttReal: stt.real,
        vad: path.basename(vadModel(userConfig)),
        tts: voice.real ? `sherpa ${voice.label}` : `espeak-ng ${config.speech.espeak.voice}`,
      },
      stop() {
        stopping ??= (async () => {
          const stopped = await gateway.stop();
          await stopAll();
          return stopped;
        })();
        return stopping;
      },
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
