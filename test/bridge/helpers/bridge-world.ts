/**
 * A whole gateway (the real composition root, Home Assistant bridge on) for the bridge tests,
 * on the embedded broker or on a real Mosquitto, with what Home Assistant sees around it:
 * an mqtt.js client logged in with Home Assistant's credentials, a fake zigbee2mqtt, a fake
 * Groq server driven by the real groq-sdk, fake STT/TTS, and simulated wearables.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { discardLogger } from '../../fakes/capture-logger.ts';
import { readMicWav, SimDevice } from '../../../device-sim/index.ts';
import { startGateway, type RunningGateway } from '../../../gateway/app.ts';
import type { BridgeConfig, HomeAssistantApiConfig } from '../../../gateway/bridge/bridge-config.ts';
import { loadConfig, type Config } from '../../../gateway/config.ts';
import { openStore } from '../../../gateway/store/index.ts';
import { startFakeGroqServer, type FakeGroqServer } from '../../fakes/fake-groq-server.ts';
import { FakeStt, type FakeSttOptions } from '../../fakes/fake-stt.ts';
import { FakeTts } from '../../fakes/fake-tts.ts';
import { SPEECH_60S_WAV } from '../../helpers/fixture-paths.ts';
import { startMosquitto, type Mosquitto } from '../../transport/mosquitto.ts';
import { eventually } from '../../transport/helpers.ts';
import { FakeZigbee2mqtt } from './fake-zigbee2mqtt.ts';

export type BrokerKind = 'embedded' | 'mosquitto';

/**
 * The ACL docs/external-broker.md gives for Mosquitto: devices their own topics, voxgate and Home Assistant
 * theirs, and no login that is not a wearable may use a wearable's topics (docs/external-broker.md).
 */
export function bridgeMosquittoAcl(): string {
  const notAWearable = ['topic deny voxgate/+/up/#', 'topic deny voxgate/+/down/#'];
  return [
    'pattern write voxgate/%u/up/#',
    'pattern read voxgate/%u/down/#',
    'pattern read voxgate/gateway/state',
    '',
    'user gateway',
    'topic deny voxgate/gateway/up/#',
    'topic read voxgate/+/up/#',
    'topic write voxgate/+/down/#',
    'topic readwrite voxgate/+/availability',
    'topic readwrite voxgate/gateway/state',
    'topic readwrite voxgate-bridge/#',
    'topic readwrite homeassistant/#',
    'topic readwrite zigbee2mqtt/#',
    '',
    'user homeassistant',
    ...notAWearable,
    'topic readwrite homeassistant/#',
    'topic readwrite voxgate-bridge/#',
    'topic read voxgate/gateway/state',
    'topic read voxgate/+/availability',
    'topic readwrite zigbee2mqtt/#',
    '',
    'user zigbee2mqtt',
    ...notAWearable,
    'topic readwrite homeassistant/#',
    'topic readwrite zigbee2mqtt/#',
    '',
  ].join('\n');
}

export interface Received {
  topic: string;
  text: string;
  retain: boolean;
  qos: number;
}

/** Home Assistant as the broker sees it: a logged-in client that records every message. */
export class HaClient {
  readonly received: Received[] = [];
  constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) => this.received.push({ topic, text: payload.toString('utf8'), retain: packet.retain, qos: packet.qos }));
  }

  on(topic: string): Received[] {
    return this.received.filter((r) => r.topic === topic);
  }

  /** The newest message on `topic` after the first `after` ones that satisfies `match`. */
  waitFor(topic: string, match: (r: Received) => boolean = () => true, what = topic, after = 0): Promise<Received> {
    return eventually(() => this.on(topic).slice(after).filter(match).at(-1), what, 15_000);
  }

  /** The latest text on `topic` once it equals `text`. */
  waitForText(topic: string, text: string): Promise<Received> {
    return this.waitFor(topic, (r) => r.text === text, `${topic} = ${JSON.stringify(text)}`);
  }

  async subscribe(...filters: string[]): Promise<void> {
    await this.client.subscribeAsync(filters, { qos: 1 });
  }

  publish(topic: string, payload: string, retain = false): Promise<unknown> {
    return this.client.publishAsync(topic, payload, { qos: 1, retain });
  }

  /**
   * What is retained on `topic` right now: subscribes in one SUBSCRIBE to it and to the
   * gateway's always-retained state, so the broker's answer for the topic (if any) comes first.
   */
  async retained(topic: string): Promise<string | undefined> {
    const marker = this.received.length;
    await this.client.subscribeAsync([topic, 'voxgate/gateway/state'], { qos: 1 });
    await eventually(() => this.received.slice(marker).some((r) => r.topic === 'voxgate/gateway/state' && r.retain), 'the retained gateway state');
    const found = this.received.slice(marker).find((r) => r.topic === topic && r.retain);
    await this.client.unsubscribeAsync([topic, 'voxgate/gateway/state']);
    return found?.text;
  }

  close(): Promise<void> {
    return this.client.endAsync(true);
  }
}

export interface WorldOptions {
  bridge?: Partial<BridgeConfig>;
  /** Home Assistant's REST API (mode ha_assist). */
  homeAssistant?: Partial<HomeAssistantApiConfig>;
  stt?: FakeSttOptions;
}

const opened: Array<{ close(): Promise<unknown> }> = [];

export class BridgeWorld {
  gateway!: RunningGateway;
  readonly wearable: { id: string; name: string; token: string };
  private constructor(
    readonly kind: BrokerKind,
    readonly config: Config,
    readonly groq: FakeGroqServer,
    readonly stt: FakeStt,
    readonly credentials: Record<'homeassistant' | 'zigbee2mqtt', string>,
    wearable: { id: string; name: string; token: string },
    private readonly mosquitto: Mosquitto | undefined,
  ) {
    this.wearable = wearable;
  }

  static async start(kind: BrokerKind, dataDir: string, options: WorldOptions = {}): Promise<BridgeWorld> {
    const groq = await startFakeGroqServer();
    // Registered before the gateway starts: Mosquitto's password file needs the tokens first.
    const store = openStore(dataDir);
    const issued = store.devices.add('kitchen-1', 'Kitchen wearable');
    const credentials = { homeassistant: store.services.add('homeassistant').token, zigbee2mqtt: store.services.add('zigbee2mqtt').token };
    store.close();
    let mosquitto: Mosquitto | undefined;
    let broker: Record<string, unknown> = { mqttPort: 0 };
    if (kind === 'mosquitto') {
      mosquitto = await startMosquitto({ gateway: 'gateway-secret', ...credentials, 'kitchen-1': issued.token }, bridgeMosquittoAcl());
      broker = { mqttUrl: mosquitto.url, mqttUsername: 'gateway', mqttPassword: 'gateway-secret' };
    }
    const config = loadConfig({
      env: {},
      overrides: {
        dataDir,
        host: '127.0.0.1',
        httpPort: 0,
        logLevel: 'silent',
        'wyoming.port': 'off',
        'speech.autoPull': false,
        ...broker,
        'groq.apiKey': 'test-key',
        'groq.baseUrl': groq.baseUrl,
        'llm.maxRetries': 0,
        'limits.rateBurstMs': 600_000,
        // The tests script the fake LLM one request per turn; speculative requests (preemptive
        // generation, test/e2e/preemption.test.ts) would take their answers.
        'preemption.enabled': false,
      },
    });
    config.bridge = {
      ...config.bridge,
      birthDelayMs: 0,
      birthJitterMs: 20,
      sharedTopics: ['zigbee2mqtt/#'],
      ...options.bridge,
    };
    config.homeAssistant = { ...config.homeAssistant, ...options.homeAssistant };
    const stt = new FakeStt(options.stt);
    const world = new BridgeWorld(kind, config, groq, stt, credentials, { id: issued.device.id, name: issued.device.name, token: issued.token }, mosquitto);
    await world.startGateway();
    opened.push(world);
    return world;
  }

  get mqttUrl(): string {
    return this.mosquitto ? this.mosquitto.url : `mqtt://127.0.0.1:${this.gateway.mqttPort}`;
  }

  private async startGateway(): Promise<void> {
    this.gateway = await startGateway(this.config, {
      logger: discardLogger(),
      engines: { stt: this.stt, tts: new FakeTts({ msPerChar: 10 }) },
    });
    // A restart keeps the embedded broker's port, so clients know where to reconnect.
    if (this.gateway.mqttPort !== null) this.config.mqttPort = this.gateway.mqttPort;
  }

  async restart(): Promise<void> {
    await this.gateway.stop();
    await this.startGateway();
  }

  async connectHa(): Promise<HaClient> {
    const client = await mqtt.connectAsync(this.mqttUrl, {
      username: 'homeassistant',
      password: this.credentials.homeassistant,
      reconnectPeriod: 0,
      protocolVersion: 4,
      connectTimeout: 10_000,
    });
    const ha = new HaClient(client);
    opened.push(ha);
    return ha;
  }

  async connectZigbee2mqtt(): Promise<FakeZigbee2mqtt> {
    const z2m = await FakeZigbee2mqtt.connect(this.mqttUrl, 'zigbee2mqtt', this.credentials.zigbee2mqtt);
    opened.push(z2m);
    return z2m;
  }

  /** The registered wearable (or another), over MQTT on the embedded broker and over WebSocket on Mosquitto. */
  async connectWearable(device: { id: string; token: string } = this.wearable, beforeConnect?: (sim: SimDevice) => void): Promise<SimDevice> {
    const transport = this.kind === 'embedded' ? 'mqtt' : 'websocket';
    const sim = new SimDevice({
      transport,
      url: transport === 'mqtt' ? this.mqttUrl : `ws://127.0.0.1:${this.gateway.httpPort}`,
      deviceId: device.id,
      token: device.token,
      codec: 'pcm16',
      timeouts: { replyStartMs: 15_000 },
    });
    beforeConnect?.(sim);
    opened.push(sim);
    await sim.connect();
    return sim;
  }

  async stop(): Promise<void> {
    await this.gateway.stop();
    await this.groq.close();
    await this.mosquitto?.stop();
  }

  close(): Promise<void> {
    return this.stop();
  }
}

/** Closes every client, device and world the tests opened (afterEach). */
export async function closeAll(): Promise<void> {
  for (const thing of opened.splice(0).reverse()) await thing.close().catch(() => {});
}

let speech: Float32Array | undefined;
/** `seconds` of real speech (16 kHz mono) from the fixture recording. */
export async function speechClip(seconds: number, from = 1): Promise<Float32Array> {
  speech ??= await readMicWav(SPEECH_60S_WAV);
  return speech.slice(Math.round(from * 16000), Math.round((from + seconds) * 16000));
}
