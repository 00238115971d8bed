/**
 * A device that sends whatever bytes a test gives it, over either transport, and keeps
 * everything the gateway sends back: for bad input that a well-behaved SimDevice never sends
 * (broken JSON, messages before hello, oversized or invalid audio, other devices' topics).
 */
import mqtt, { type MqttClient, type Packet } from 'mqtt';
import WebSocket from 'ws';
import { createTopics, encodeAudioFrame, FRAME_KIND, type GatewayMessage } from '../../protocol/index.ts';
import type { SimTransport } from '../../device-sim/index.ts';

export interface RawDevice {
  readonly transport: SimTransport;
  readonly deviceId: string;
  /** Every control message received, parsed as JSON (the gateway only sends valid JSON). */
  readonly messages: GatewayMessage[];
  /** Reply audio packets received. */
  audioPackets: number;
  /** Sends one control message as is (WebSocket text frame / MQTT publish on up/ctrl). */
  sendText(text: string): Promise<void>;
  sendJson(message: object): Promise<void>;
  /** Sends one microphone packet (WebSocket binary frame / MQTT up/audio frame with header). */
  sendAudio(packet: Uint8Array, turn: number, seq: number): Promise<void>;
  /** Resolves with the next message (already received or future) that matches. */
  waitFor(match: (message: GatewayMessage) => boolean, timeoutMs?: number): Promise<GatewayMessage>;
  /** The underlying MQTT client (MQTT only), for ACL tests. */
  readonly mqtt?: MqttClient;
  close(): Promise<void>;
}

const WAIT_MS = 10_000;

function makeWaiters(messages: GatewayMessage[]) {
  const waiters = new Set<{ match: (m: GatewayMessage) => boolean; resolve: (m: GatewayMessage) => void }>();
  return {
    received(message: GatewayMessage) {
      messages.push(message);
      for (const w of [...waiters]) if (w.match(message)) (waiters.delete(w), w.resolve(message));
    },
    waitFor(match: (m: GatewayMessage) => boolean, timeoutMs = WAIT_MS): Promise<GatewayMessage> {
      const found = messages.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const waiter = { match, resolve: (m: GatewayMessage) => (clearTimeout(timer), resolve(m)) };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`no matching message within ${timeoutMs} ms; got ${JSON.stringify(messages).slice(0, 500)}`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
  };
}

export function openRawDevice(transport: SimTransport, url: string, deviceId: string, token: string, prefix: string): Promise<RawDevice> {
  return transport === 'mqtt' ? openRawMqtt(url, deviceId, token, prefix) : openRawWebSocket(url, deviceId, token);
}

function openRawWebSocket(url: string, deviceId: string, token: string): Promise<RawDevice> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url}/v1/device`, { headers: { Authorization: `Bearer ${token}`, 'Device-Id': deviceId }, perMessageDeflate: false });
    const messages: GatewayMessage[] = [];
    const waiters = makeWaiters(messages);
    const send = (data: string | Uint8Array) =>
      new Promise<void>((done, failed) => ws.send(data, { binary: typeof data !== 'string' }, (err) => (err ? failed(err) : done())));
    const device: RawDevice = {
      transport: 'websocket',
      deviceId,
      messages,
      audioPackets: 0,
      sendText: (text) => send(text),
      sendJson: (message) => send(JSON.stringify(message)),
      sendAudio: (packet) => send(packet),
      waitFor: waiters.waitFor,
      close: () =>
        new Promise<void>((done) => {
          if (ws.readyState === WebSocket.CLOSED) return done();
          ws.once('close', () => done());
          ws.close(1000);
          setTimeout(() => ws.terminate(), 2_000).unref();
        }),
    };
    ws.on('message', (data, isBinary) => {
      if (isBinary) device.audioPackets++;
      else waiters.received(JSON.parse(String(data)) as GatewayMessage);
    });
    ws.once('open', () => resolve(device));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

function openRawMqtt(url: string, deviceId: string, token: string, prefix: string): Promise<RawDevice> {
  const topics = createTopics(prefix);
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { username: deviceId, password: token, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 10_000 });
    const messages: GatewayMessage[] = [];
    const waiters = makeWaiters(messages);
    const device: RawDevice = {
      transport: 'mqtt',
      deviceId,
      messages,
      audioPackets: 0,
      mqtt: client,
      sendText: async (text) => void (await client.publishAsync(topics.upCtrl(deviceId), text, { qos: 1 })),
      sendJson: (message) => device.sendText(JSON.stringify(message)),
      sendAudio: async (packet, turn, seq) =>
        void (await client.publishAsync(topics.upAudio(deviceId), encodeAudioFrame({ kind: FRAME_KIND.mic, seq, turn, payload: packet }), { qos: 0 })),
      waitFor: waiters.waitFor,
      close: async () => void (await client.endAsync(false).catch(() => {})),
    };
    client.on('message', (topic, payload) => {
      if (topic === topics.downCtrl(deviceId)) waiters.received(JSON.parse(payload.toString('utf8')) as GatewayMessage);
      else if (topic === topics.downAudio(deviceId)) device.audioPackets++;
    });
    client.once('connect', () => {
      client.subscribeAsync(`${topics.prefix}/${deviceId}/down/#`, { qos: 1 }).then(() => resolve(device), reject);
    });
    client.once('error', reject);
  });
}

/** The raw SUBACK grants of one subscription (128 = refused), which mqtt.js hides in its callback. */
export function rawSuback(client: MqttClient, filter: string): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const onPacket = (packet: Packet) => {
      if (packet.cmd !== 'suback') return;
      client.off('packetreceive', onPacket);
      resolve((packet.granted as unknown[]).map(Number));
    };
    client.on('packetreceive', onPacket);
    client.subscribe(filter, { qos: 1 }, (err) => err && reject(err));
  });
}

/** The CONNACK return code the broker answers for these credentials (0 = accepted). */
export function connackCode(url: string, username: string, password: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { username, password, reconnectPeriod: 0, connectTimeout: 10_000, protocolVersion: 4 });
    client.on('packetreceive', (packet) => {
      if (packet.cmd !== 'connack') return;
      resolve(packet.returnCode ?? -1);
      client.end(true);
    });
    client.on('error', () => {}); // the refusal itself; its code came with the packet
    client.once('close', () => reject(new Error('closed without CONNACK')));
  });
}
