import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createTopics } from '../../protocol/index.ts';
import { startEmbeddedBroker, type EmbeddedBroker, type ServiceAccount } from '../../gateway/transport/embedded-broker.ts';
import { startMqttDeviceTransport, type MqttDeviceTransport } from '../../gateway/transport/mqtt-device-transport.ts';
import { RecordingSessions } from '../fakes/recording-session.ts';
import { captureLogger, eventually, linesWith, type LogLine } from './helpers.ts';
import { connackCode, connectClient, endAllClients, rawSuback } from './mqtt-clients.ts';
import { mqttRoutingSuite } from './mqtt-routing-suite.ts';

const DEVICES = new Map([
  ['kitchen-1', 'token-kitchen'],
  ['desk-2', 'token-desk'],
]);
const authenticate = (id: string, token: string) => DEVICES.get(id) === token;
/** A read-everything service account, through the hook a later Home Assistant login will use. */
const OBSERVER: ServiceAccount = { name: 'observer', mayPublish: () => false, maySubscribe: () => true };
const authenticateService = (user: string, password: string) => (user === 'observer' && password === 'observer-pw' ? OBSERVER : null);
const topics = createTopics('voxgate');

// Hand-made MQTT 3.1.1 packets for a client that must not send PINGREQ.
const mqttString = (text: string) => {
  const bytes = Buffer.from(text);
  return Buffer.concat([Buffer.from([bytes.length >> 8, bytes.length & 0xff]), bytes]);
};
const mqttPacket = (firstByte: number, body: Buffer) => {
  const length: number[] = [];
  let n = body.length;
  do {
    length.push((n % 128) | (n >= 128 ? 0x80 : 0));
    n = Math.floor(n / 128);
  } while (n > 0);
  return Buffer.concat([Buffer.from([firstByte, ...length]), body]);
};
const rawConnect = (clientId: string, username: string, password: string, keepaliveSeconds: number) =>
  mqttPacket(
    0x10,
    Buffer.concat([mqttString('MQTT'), Buffer.from([4, 0xc2, 0, keepaliveSeconds]), mqttString(clientId), mqttString(username), mqttString(password)]),
  );
const rawPublish = (topic: string, payload: string) => mqttPacket(0x30, Buffer.concat([mqttString(topic), Buffer.from(payload)]));

describe('embedded broker: routing contract', () => {
  mqttRoutingSuite(async (logger) => {
    const broker = await startEmbeddedBroker({ host: '127.0.0.1', port: 0, topicPrefix: 'voxgate', authenticate, authenticateService, logger });
    return {
      url: `mqtt://127.0.0.1:${broker.port}`,
      bus: broker,
      deviceA: { username: 'kitchen-1', password: 'token-kitchen' },
      deviceB: { username: 'desk-2', password: 'token-desk' },
      observer: { username: 'observer', password: 'observer-pw' },
      stop: () => broker.close(),
    };
  });
});

describe('embedded broker: authentication, ACL and connection life', () => {
  let broker: EmbeddedBroker | undefined;
  let transport: MqttDeviceTransport | undefined;
  let recorder: RecordingSessions;
  let logLines: LogLine[];
  let url: string;

  async function start(options: { maxPacketBytes?: number } = {}) {
    const { logger, lines } = captureLogger();
    logLines = lines;
    broker = await startEmbeddedBroker({ host: '127.0.0.1', port: 0, topicPrefix: 'voxgate', authenticate, authenticateService, logger, ...options });
    recorder = new RecordingSessions({ echo: true });
    transport = await startMqttDeviceTransport({ bus: broker, topicPrefix: 'voxgate', openSession: recorder.opener, logger });
    url = `mqtt://127.0.0.1:${broker.port}`;
  }

  async function hello(id: string, token: string, options = {}) {
    const dev = await connectClient(url, id, token, options);
    await dev.client.subscribeAsync(topics.downCtrl(id), { qos: 1 });
    await dev.client.publishAsync(topics.upCtrl(id), JSON.stringify({ type: 'hello' }), { qos: 1 });
    await eventually(() => recorder.controlTypes(id).includes('hello'), `${id} hello`);
    return dev;
  }

  afterEach(async () => {
    await endAllClients();
    await transport?.close();
    await broker?.close();
    transport = undefined;
    broker = undefined;
  });

  it('binds port 0 to a real port and reports it', async () => {
    await start();
    expect(broker!.port).toBeGreaterThan(0);
    expect(broker!.mode).toBe('embedded');
    expect(await connackCode(url, 'kitchen-1', 'token-kitchen')).toBe(0);
  });

  it('refuses bad credentials with CONNACK 4 and non-device ids with 5', async () => {
    await start();
    expect(await connackCode(url, 'kitchen-1', 'token-desk')).toBe(4);
    expect(await connackCode(url, 'ghost-9', 'token-kitchen')).toBe(4);
    expect(await connackCode(url)).toBe(4);
    expect(await connackCode(url, 'kitchen-1')).toBe(4);
    expect(await connackCode(url, 'gateway', 'token-kitchen')).toBe(5);
    expect(await connackCode(url, 'voxgate/#', 'token-kitchen')).toBe(5);
    expect(recorder.sessions).toHaveLength(0);
    expect(JSON.stringify(logLines)).not.toContain('token-desk');
  });

  it('answers a foreign or wildcard subscription with SUBACK 0x80 and grants the allowed ones', async () => {
    await start();
    const dev = await connectClient(url, 'kitchen-1', 'token-kitchen');
    expect(await rawSuback(dev.client, 'voxgate/desk-2/down/#')).toEqual([128]);
    expect(await rawSuback(dev.client, 'voxgate/#')).toEqual([128]);
    expect(await rawSuback(dev.client, '#')).toEqual([128]);
    expect(await rawSuback(dev.client, 'voxgate/desk-2/up/ctrl')).toEqual([128]);
    expect(await rawSuback(dev.client, 'voxgate/kitchen-1/down/#')).toEqual([1]);
    expect(await rawSuback(dev.client, 'voxgate/gateway/state')).toEqual([1]);
    expect(dev.client.connected).toBe(true);
    expect(linesWith(logLines, 'mqtt subscription refused by ACL')).toHaveLength(1); // once per connection
  });

  it('drops a refused publish, keeps the device connected, and logs it once', async () => {
    await start();
    const observer = await connectClient(url, 'observer', 'observer-pw');
    await observer.client.subscribeAsync('#', { qos: 1 });
    const desk = await hello('desk-2', 'token-desk');
    const kitchen = await hello('kitchen-1', 'token-kitchen');
    for (let i = 0; i < 3; i++) {
      await kitchen.client.publishAsync('voxgate/desk-2/up/ctrl', JSON.stringify({ type: 'reset' }), { qos: 1 });
    }
    await kitchen.client.publishAsync('voxgate/gateway/state', 'offline', { qos: 1, retain: true });
    await kitchen.client.publishAsync(topics.upCtrl('kitchen-1'), JSON.stringify({ type: 'ping', id: 1 }), { qos: 1 });
    await eventually(() => kitchen.texts(topics.downCtrl('kitchen-1')).length, 'pong');
    expect(kitchen.client.connected).toBe(true);
    expect(recorder.controlTypes('desk-2')).toEqual(['hello']);
    expect(observer.received.filter((r) => r.payload.toString().includes('reset'))).toEqual([]);
    expect(linesWith(logLines, 'mqtt publish refused by ACL (dropped)')).toHaveLength(1);
    // The forged retained state did not replace the gateway's.
    const late = await connectClient(url, 'observer', 'observer-pw');
    await late.client.subscribeAsync(topics.gatewayState(), { qos: 1 });
    await eventually(() => late.texts(topics.gatewayState()).length, 'retained state');
    expect(late.texts(topics.gatewayState())).toEqual(['online']);
    expect(desk.client.connected).toBe(true);
  });

  it('does not store what a device publishes with retain', async () => {
    await start();
    const dev = await hello('kitchen-1', 'token-kitchen');
    await dev.client.publishAsync(topics.upCtrl('kitchen-1'), JSON.stringify({ type: 'ping', id: 9 }), { qos: 1, retain: true });
    await eventually(() => dev.texts(topics.downCtrl('kitchen-1')).length, 'pong');
    const observer = await connectClient(url, 'observer', 'observer-pw');
    await observer.client.subscribeAsync(['voxgate/kitchen-1/up/ctrl', topics.gatewayState()], { qos: 1 });
    await eventually(() => observer.texts(topics.gatewayState()).length, 'the retained gateway state');
    expect(observer.texts(topics.upCtrl('kitchen-1'))).toEqual([]);
  });

  it('a newer connection for the same device replaces the old one and its session', async () => {
    await start();
    const first = await hello('kitchen-1', 'token-kitchen', { clientId: 'first' });
    const firstClosed = new Promise<void>((resolve) => first.client.once('close', () => resolve()));
    const second = await connectClient(url, 'kitchen-1', 'token-kitchen', { clientId: 'second' });
    await firstClosed;
    const [old] = recorder.forDevice('kitchen-1');
    await eventually(() => old?.disconnects.length, 'old session ended');
    expect(old?.disconnects).toEqual(['replaced by a new connection']);
    await second.client.subscribeAsync(topics.downCtrl('kitchen-1'), { qos: 1 });
    await second.client.publishAsync(topics.upCtrl('kitchen-1'), JSON.stringify({ type: 'hello' }), { qos: 1 });
    await eventually(() => recorder.forDevice('kitchen-1').length === 2, 'a new session');
    expect(recorder.forDevice('kitchen-1')[1]?.disconnects).toEqual([]);
  });

  it('link.close ends the session and drops the device connection', async () => {
    await start();
    const dev = await hello('kitchen-1', 'token-kitchen');
    const closed = new Promise<void>((resolve) => dev.client.once('close', () => resolve()));
    const session = recorder.sessions[0]!;
    session.link.close('hello timeout');
    await closed;
    expect(session.disconnects).toEqual(['hello timeout']);
    expect(transport!.sessionCount).toBe(0);
  });

  it('detects a silent device by keepalive and reports it', async () => {
    await start();
    // A raw client: CONNECT with a 1 s keepalive and a hello, then silence (no PINGREQ, no DISCONNECT).
    const socket = net.connect(broker!.port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(rawConnect('raw', 'kitchen-1', 'token-kitchen', 1));
    socket.write(rawPublish(topics.upCtrl('kitchen-1'), '{"type":"hello"}'));
    const session = await eventually(() => recorder.sessions[0], 'a session');
    await eventually(() => session.disconnects.length, 'the keepalive timeout', 15_000);
    expect(session.disconnects).toEqual(['keepalive timeout']);
    socket.destroy();
  });

  it('drops a connection that sends a packet over the size cap, before buffering it, and serves others', async () => {
    await start({ maxPacketBytes: 8 * 1024 });
    const other = await hello('desk-2', 'token-desk');
    const dev = await hello('kitchen-1', 'token-kitchen');
    const closed = new Promise<void>((resolve) => dev.client.once('close', () => resolve()));
    dev.client.publish(topics.upAudio('kitchen-1'), Buffer.alloc(20 * 1024), { qos: 0 });
    await closed;
    expect(recorder.forDevice('kitchen-1')[0]?.audio).toEqual([]);
    expect(linesWith(logLines, 'mqtt connection dropped: packet too large')).toHaveLength(1);
    await other.client.publishAsync(topics.upCtrl('desk-2'), JSON.stringify({ type: 'ping', id: 3 }), { qos: 1 });
    await eventually(() => other.texts(topics.downCtrl('desk-2')).includes('{"type":"pong","id":3}'), 'pong to the other device');
  });

  it('stopping the broker under live sessions ends them once, without errors', async () => {
    await start();
    const dev = await hello('kitchen-1', 'token-kitchen');
    const closed = new Promise<void>((resolve) => dev.client.once('close', () => resolve()));
    await broker!.close();
    broker = undefined;
    await closed;
    const session = recorder.sessions[0]!;
    await eventually(() => session.disconnects.length, 'the session to end');
    expect(session.disconnects).toHaveLength(1);
    await transport!.close(); // nothing left to end; must not throw on the closed broker
    expect(logLines.filter((l) => l.level >= 50)).toEqual([]);
  });

  it('a refusing service account is held to its own ACL', async () => {
    await start();
    const observer = await connectClient(url, 'observer', 'observer-pw');
    await observer.client.publishAsync(topics.upCtrl('kitchen-1'), JSON.stringify({ type: 'hello' }), { qos: 1 });
    await observer.client.publishAsync(topics.downCtrl('desk-2'), 'x', { qos: 1 });
    expect(await rawSuback(observer.client, '#')).toEqual([1]);
    expect(recorder.sessions).toHaveLength(0);
    expect(observer.client.connected).toBe(true);
  });
});
