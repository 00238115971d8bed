/**
 * Nothing inside the gateway publishes into a device's `up/` topics (issue 11 item 1, defence in
 * depth): the embedded broker's in-process publish skips its ACL and an external broker grants
 * the gateway login the whole prefix, so the bus itself refuses, on both.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createTopics } from '../../protocol/index.ts';
import { startEmbeddedBroker } from '../../gateway/transport/embedded-broker.ts';
import { connectExternalBroker } from '../../gateway/transport/external-broker.ts';
import { GatewayPublishRefused } from '../../gateway/transport/gateway-publish-guard.ts';
import type { MqttBus } from '../../gateway/transport/mqtt-bus.ts';
import { startMqttDeviceTransport } from '../../gateway/transport/mqtt-device-transport.ts';
import { RecordingSessions } from '../fakes/recording-session.ts';
import { captureLogger, eventually } from './helpers.ts';
import { connectClient, endAllClients } from './mqtt-clients.ts';
import { startMosquitto, voxgateAcl, type Mosquitto } from './mosquitto.ts';

const topics = createTopics('voxgate');
const stops: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  await endAllClients();
  for (const stop of stops.splice(0).reverse()) await stop();
});
let mosquitto: Mosquitto | undefined;
afterAll(() => mosquitto?.stop());

type World = { bus: MqttBus; url: string; observer: { username: string; password: string } };

const worlds: Record<'embedded' | 'external', () => Promise<World>> = {
  async embedded() {
    const { logger } = captureLogger();
    const observer = { name: 'observer', mayPublish: () => false, maySubscribe: () => true };
    const bus = await startEmbeddedBroker({
      host: '127.0.0.1',
      port: 0,
      topicPrefix: 'voxgate',
      authenticate: () => false,
      authenticateService: (u, p) => (u === 'observer' && p === 'observer-pw' ? observer : null),
      logger,
    });
    stops.push(() => bus.close());
    return { bus, url: `mqtt://127.0.0.1:${bus.port}`, observer: { username: 'observer', password: 'observer-pw' } };
  },
  async external() {
    mosquitto ??= await startMosquitto({ gw: 'gw-secret', observer: 'observer-pw' }, voxgateAcl('gw', 'observer'));
    const { logger } = captureLogger();
    const bus = await connectExternalBroker({ url: mosquitto.url, username: 'gw', password: 'gw-secret', topicPrefix: 'voxgate', logger });
    stops.push(() => bus.close());
    return { bus, url: mosquitto.url, observer: { username: 'observer', password: 'observer-pw' } };
  },
};

describe.each(['embedded', 'external'] as const)('gateway publishes (%s broker)', (kind) => {
  it("never go into a device's up/ topics; down/ and the rest still do", async () => {
    const { bus, url, observer } = await worlds[kind]();
    const sessions = new RecordingSessions();
    const { logger } = captureLogger();
    const transport = await startMqttDeviceTransport({ bus, topicPrefix: 'voxgate', openSession: sessions.opener, logger });
    stops.push(() => transport.close());
    const inProcess: string[] = [];
    await bus.subscribe('voxgate/#', (topic) => inProcess.push(topic));
    const watcher = await connectClient(url, observer.username, observer.password);
    await watcher.client.subscribeAsync('voxgate/#', { qos: 1 });

    const hello = JSON.stringify({ type: 'hello' });
    for (const topic of [topics.upCtrl('kitchen-1'), topics.upAudio('kitchen-1'), 'voxgate/kitchen-1/up/ctrl/deeper', 'voxgate/+/down/ctrl', 'voxgate/#']) {
      await expect(bus.publish(topic, hello, { qos: 1 }), topic).rejects.toBeInstanceOf(GatewayPublishRefused);
    }
    await bus.publish(topics.downCtrl('kitchen-1'), '{"type":"pong"}', { qos: 1 });
    await eventually(() => watcher.texts(topics.downCtrl('kitchen-1')).length === 1, 'the down/ctrl message');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(sessions.sessions).toEqual([]);
    expect(inProcess.filter((t) => t.includes('/up/'))).toEqual([]);
    expect(watcher.received.map((r) => r.topic).filter((t) => t.includes('/up/'))).toEqual([]);
  });
});
