/** mqtt.js clients for the MQTT transport tests: devices, a raw-packet view, and connect refusals. */
import mqtt, { type IClientOptions, type MqttClient, type Packet } from 'mqtt';

export interface Received {
  topic: string;
  payload: Buffer;
  retain: boolean;
  qos: number;
}

export interface TestClient {
  client: MqttClient;
  received: Received[];
  /** Payloads received on one topic, as text. */
  texts(topic: string): string[];
}

const opened: MqttClient[] = [];

/** Connects, resolving once CONNACK accepted; records every message. No reconnects in tests. */
export function connectClient(url: string, username: string, password: string, options: IClientOptions = {}): Promise<TestClient> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { username, password, reconnectPeriod: 0, connectTimeout: 10_000, protocolVersion: 4, ...options });
    opened.push(client);
    const received: Received[] = [];
    client.on('message', (topic, payload, packet) => received.push({ topic, payload, retain: packet.retain, qos: packet.qos }));
    client.once('connect', () =>
      resolve({ client, received, texts: (topic) => received.filter((r) => r.topic === topic).map((r) => r.payload.toString()) }),
    );
    client.once('error', reject);
  });
}

/** The CONNACK return code the broker answers for these credentials (0 = accepted). */
export function connackCode(url: string, username?: string, password?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { username, password, reconnectPeriod: 0, connectTimeout: 10_000, protocolVersion: 4 });
    opened.push(client);
    client.on('packetreceive', (packet) => {
      if (packet.cmd === 'connack') {
        resolve(packet.returnCode ?? -1);
        client.end(true);
      }
    });
    client.on('error', () => {}); // the refusal itself; the code came with the packet
    client.once('close', () => reject(new Error('closed without CONNACK')));
  });
}

/** Subscribes and returns the raw SUBACK grants (128 = refused), which mqtt.js hides in its callback. */
export function rawSuback(client: MqttClient, filter: string): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const onPacket = (packet: Packet) => {
      if (packet.cmd !== 'suback') return;
      client.off('packetreceive', onPacket);
      resolve((packet.granted as unknown[]).map(Number)); // 3.1.1 grants are plain numbers
    };
    client.on('packetreceive', onPacket);
    client.subscribe(filter, { qos: 1 }, (err) => err && reject(err));
  });
}

export async function endAllClients(): Promise<void> {
  await Promise.all(opened.splice(0).map((c) => c.endAsync(true).catch(() => {})));
}
