import net from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createTopics } from '../../protocol/index.ts';
import { connectExternalBroker, type ExternalBroker } from '../../gateway/transport/external-broker.ts';
import { startMqttDeviceTransport, type MqttDeviceTransport } from '../../gateway/transport/mqtt-device-transport.ts';
import { RecordingSessions } from '../fakes/recording-session.ts';
import { captureLogger, eventually, linesWith } from './helpers.ts';
import { connectClient, endAllClients } from './mqtt-clients.ts';
import { mqttRoutingSuite } from './mqtt-routing-suite.ts';
import { startMosquitto, voxgateAcl, type Mosquitto } from './mosquitto.ts';

const USERS = {
  'voxgate-gateway': 'gateway-secret',
  observer: 'observer-pw',
  'kitchen-1': 'token-kitchen',
  'desk-2': 'token-desk',
  // A login the broker knows that is not a registered device (a leftover, or another system's).
  stranger: 'stranger-pw',
};
const ACL = voxgateAcl('voxgate-gateway', 'observer');
const topics = createTopics('voxgate');

const running = new Set<Mosquitto>();
async function mosquitto(): Promise<Mosquitto> {
  const broker = await startMosquitto(USERS, ACL);
  running.add(broker);
  return broker;
}
async function stopMosquitto(broker: Mosquitto): Promise<void> {
  running.delete(broker);
  await broker.stop();
}
afterAll(async () => {
  await Promise.all([...running].map(stopMosquitto));
});

describe('external broker (real Mosquitto): routing contract', () => {
  mqttRoutingSuite(async (logger) => {
    const broker = await mosquitto();
    const bus = await connectExternalBroker({
      url: broker.url,
      username: 'voxgate-gateway',
      password: 'gateway-secret',
      topicPrefix: 'voxgate',
      logger,
    });
    return {
      url: broker.url,
      bus,
      deviceA: { username: 'kitchen-1', password: 'token-kitchen' },
      deviceB: { username: 'desk-2', password: 'token-desk' },
      observer: { username: 'observer', password: 'observer-pw' },
      async stop() {
        await bus.close();
        await stopMosquitto(broker);
      },
    };
  });
});

/** A TCP relay whose connections the test can cut, to lose the gateway's link without a DISCONNECT. */
async function startRelay(targetPort: number) {
  const pairs = new Set<[net.Socket, net.Socket]>();
  const server = net.createServer((inbound) => {
    const outbound = net.connect(targetPort, '127.0.0.1');
    const pair: [net.Socket, net.Socket] = [inbound, outbound];
    pairs.add(pair);
    for (const socket of pair) {
      socket.on('error', () => {});
      socket.on('close', () => {
        pairs.delete(pair);
        inbound.destroy();
        outbound.destroy();
      });
    }
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `mqtt://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    cut: () => pairs.forEach(([a, b]) => (a.destroy(), b.destroy())),
    close: () => new Promise((resolve) => (server.close(resolve), pairs.forEach(([a, b]) => (a.destroy(), b.destroy())))),
  };
}

describe('external broker (real Mosquitto): the gateway connection', () => {
  let bus: ExternalBroker | undefined;
  let transport: MqttDeviceTransport | undefined;

  afterEach(async () => {
    await endAllClients();
    await transport?.close();
    await bus?.close();
    transport = undefined;
    bus = undefined;
  });

  it('fails to start, clearly and promptly, with wrong gateway credentials', async () => {
    const broker = await mosquitto();
    const { logger } = captureLogger();
    await expect(
      connectExternalBroker({ url: broker.url, username: 'voxgate-gateway', password: 'wrong', topicPrefix: 'voxgate', logger }),
    ).rejects.toThrow(/cannot connect to MQTT broker mqtt:\/\/127\.0\.0\.1:\d+\/?: .*CONNACK [45]/);
    await stopMosquitto(broker);
  });

  it('leaves a retained `offline` when it stops', async () => {
    const broker = await mosquitto();
    const { logger } = captureLogger();
    bus = await connectExternalBroker({ url: broker.url, username: 'voxgate-gateway', password: 'gateway-secret', topicPrefix: 'voxgate', logger });
    expect(bus.mode).toBe('external');
    await bus.close();
    bus = undefined;
    const dev = await connectClient(broker.url, 'kitchen-1', 'token-kitchen');
    await dev.client.subscribeAsync(topics.gatewayState(), { qos: 1 });
    const state = await eventually(() => dev.received[0], 'retained state');
    expect([state.payload.toString(), state.retain]).toEqual(['offline', true]);
    await stopMosquitto(broker);
  });

  it('on a lost connection the broker publishes its will; after reconnecting it is online and hears devices again', async () => {
    const broker = await mosquitto();
    const relay = await startRelay(broker.port);
    const { logger } = captureLogger();
    bus = await connectExternalBroker({
      url: relay.url,
      username: 'voxgate-gateway',
      password: 'gateway-secret',
      topicPrefix: 'voxgate',
      logger,
      reconnectPeriodMs: 100,
    });
    const recorder = new RecordingSessions({ echo: true });
    transport = await startMqttDeviceTransport({ bus, topicPrefix: 'voxgate', openSession: recorder.opener, logger });
    const observer = await connectClient(broker.url, 'observer', 'observer-pw');
    await observer.client.subscribeAsync(topics.gatewayState(), { qos: 1 });
    await eventually(() => observer.texts(topics.gatewayState()).at(-1) === 'online', 'online');

    relay.cut();
    await eventually(() => observer.texts(topics.gatewayState()).at(-1) === 'offline', 'the will (offline)');
    await eventually(() => observer.texts(topics.gatewayState()).at(-1) === 'online', 'online again after reconnecting');

    const dev = await connectClient(broker.url, 'kitchen-1', 'token-kitchen');
    await dev.client.subscribeAsync(topics.downCtrl('kitchen-1'), { qos: 1 });
    // The resubscription may land just after `online`; keep asking until the gateway answers.
    await eventually(async () => {
      await dev.client.publishAsync(topics.upCtrl('kitchen-1'), JSON.stringify({ type: 'ping', id: 1 }), { qos: 1 });
      return dev.texts(topics.downCtrl('kitchen-1')).length > 0;
    }, 'a pong after the reconnect');
    expect(recorder.controlTypes('kitchen-1')[0]).toBe('ping');
    await transport.close();
    transport = undefined;
    await bus.close();
    bus = undefined;
    await relay.close();
    await stopMosquitto(broker);
  });
});

describe('external broker (real Mosquitto): registered devices only', () => {
  let bus: ExternalBroker | undefined;
  let transport: MqttDeviceTransport | undefined;

  afterEach(async () => {
    await endAllClients();
    await transport?.close();
    await bus?.close();
    transport = undefined;
    bus = undefined;
  });

  it('opens no session for an unregistered id the ACL lets through (logged once), and serves a registered one', async () => {
    const broker = await mosquitto();
    const { logger, lines } = captureLogger();
    bus = await connectExternalBroker({ url: broker.url, username: 'voxgate-gateway', password: 'gateway-secret', topicPrefix: 'voxgate', logger });
    const recorder = new RecordingSessions({ echo: true });
    const registered = new Set(['kitchen-1', 'desk-2']);
    transport = await startMqttDeviceTransport({ bus, topicPrefix: 'voxgate', openSession: recorder.opener, logger, isRegistered: (id) => registered.has(id) });

    const stranger = await connectClient(broker.url, 'stranger', 'stranger-pw');
    await stranger.client.subscribeAsync(topics.downCtrl('stranger'), { qos: 1 });
    const hello = JSON.stringify({ type: 'hello', version: 1, transport: 'mqtt' });
    await stranger.client.publishAsync(topics.upCtrl('stranger'), hello, { qos: 1 });
    await eventually(() => linesWith(lines, 'mqtt message from an unregistered device id ignored (further ones silently)').length, 'the unregistered id logged');
    await stranger.client.publishAsync(topics.upCtrl('stranger'), JSON.stringify({ type: 'ping', id: 1 }), { qos: 1 });

    const device = await connectClient(broker.url, 'kitchen-1', 'token-kitchen');
    await device.client.subscribeAsync(topics.downCtrl('kitchen-1'), { qos: 1 });
    await device.client.publishAsync(topics.upCtrl('kitchen-1'), JSON.stringify({ type: 'ping', id: 2 }), { qos: 1 });
    await eventually(() => device.texts(topics.downCtrl('kitchen-1')).length, 'the registered device answered');
    await new Promise((resolve) => setTimeout(resolve, 100)); // the stranger's ping was sent first; give it time to show up if it were served

    expect(recorder.forDevice('stranger')).toEqual([]);
    expect(stranger.received).toEqual([]);
    expect(linesWith(lines, 'mqtt message from an unregistered device id ignored (further ones silently)')).toHaveLength(1);
    expect(recorder.controlTypes('kitchen-1')).toEqual(['ping']);
  });
});
