/**
 * Direct logins on the embedded broker (gateway/transport/direct-login.ts): a client another
 * room serves itself (stock xiaozhi firmware). It publishes to one topic only and that goes to
 * its handler alone, never onto the bus; it subscribes to nothing; its will obeys the same rule;
 * the handler writes PUBLISH packets straight onto its connection although it never subscribed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../gateway/transport/embedded-broker.ts';
import type { AuthenticateDirect, DirectClient, DirectConnection } from '../../gateway/transport/direct-login.ts';
import { captureLogger, eventually, type LogLine } from './helpers.ts';
import { connackCode, connectClient, endAllClients, rawSuback } from './mqtt-clients.ts';

class RecordingClient implements DirectClient {
  readonly name = 'xiaozhi:desk';
  readonly publishTopic = 'xiaozhi/desk/up';
  connection: DirectConnection | undefined;
  readonly payloads: string[] = [];
  readonly ended: string[] = [];
  connected(connection: DirectConnection): void {
    this.connection = connection;
  }
  received(payload: Buffer): void {
    this.payloads.push(payload.toString('utf8'));
  }
  disconnected(reason: string): void {
    this.ended.push(reason);
  }
}

let broker: EmbeddedBroker | undefined;
afterEach(async () => {
  await endAllClients();
  await broker?.close();
  broker = undefined;
});

async function start(): Promise<{ url: string; handlers: RecordingClient[]; lines: LogLine[]; bus: string[] }> {
  const handlers: RecordingClient[] = [];
  const authenticateDirect: AuthenticateDirect = (clientId, username, password) => {
    if (!username.startsWith('xiaozhi:')) return null;
    if (clientId !== 'voxgate-xiaozhi-desk') return { refused: 5 };
    if (password !== 'desk-token') return { refused: 4 };
    const handler = new RecordingClient();
    handlers.push(handler);
    return handler;
  };
  const { logger, lines } = captureLogger();
  broker = await startEmbeddedBroker({
    host: '127.0.0.1',
    port: 0,
    topicPrefix: 'voxgate',
    authenticate: (id, token) => id === 'kitchen-1' && token === 'token-kitchen',
    authenticateDirect,
    logger,
  });
  // Everything that reaches the bus, as the gateway's own subscribers would see it.
  const bus: string[] = [];
  await broker.subscribe('#', (topic) => bus.push(topic));
  return { url: `mqtt://127.0.0.1:${broker.port}`, handlers, lines, bus };
}

const desk = { clientId: 'voxgate-xiaozhi-desk' };

describe('embedded broker: direct logins', () => {
  it('its publishes to its topic reach its handler only, in order; every other topic and every subscription is refused', async () => {
    const { url, handlers, lines, bus } = await start();
    const device = await connectClient(url, 'kitchen-1', 'token-kitchen');
    expect(await rawSuback(device.client, 'xiaozhi/#')).toEqual([128]);
    const xiaozhi = await connectClient(url, 'xiaozhi:desk', 'desk-token', desk);
    await eventually(() => handlers[0]?.connection, 'the handler connected');
    expect(handlers[0]!.connection!.remoteAddress).toBe('127.0.0.1');
    for (let i = 0; i < 5; i++) xiaozhi.client.publish('xiaozhi/desk/up', `{"n":${i}}`);
    xiaozhi.client.publish('voxgate/kitchen-1/up/ctrl', '{"type":"hello","version":1}');
    xiaozhi.client.publish('voxgate/desk/up/ctrl', '{"type":"hello","version":1}');
    xiaozhi.client.publish('anything/else', 'x');
    expect(await rawSuback(xiaozhi.client, '#')).toEqual([128]);
    expect(await rawSuback(xiaozhi.client, 'xiaozhi/desk/up')).toEqual([128]);
    await eventually(() => handlers[0]!.payloads.length === 5, 'its five messages');
    expect(handlers[0]!.payloads).toEqual([0, 1, 2, 3, 4].map((n) => `{"n":${n}}`));
    // Nothing it published reached the bus (only the broker's own $SYS bookkeeping, which '#' does not match).
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(bus.filter((t) => !t.startsWith('voxgate/gateway/'))).toEqual([]);
    expect(device.received).toEqual([]);
    const refused = lines.filter((l) => l.direct === 'xiaozhi:desk');
    expect(refused.map((l) => l.msg)).toEqual(['mqtt publish refused by ACL (dropped)', 'mqtt subscription refused by ACL']);
  });

  it('the handler pushes onto its connection although it never subscribed; nobody else receives that', async () => {
    const { url, handlers } = await start();
    const observer = await connectClient(url, 'kitchen-1', 'token-kitchen');
    const xiaozhi = await connectClient(url, 'xiaozhi:desk', 'desk-token', desk);
    await eventually(() => handlers[0]?.connection, 'the handler connected');
    const written: Array<Error | undefined> = [];
    handlers[0]!.connection!.push('xiaozhi/desk/down', '{"type":"hello"}', (error) => written.push(error));
    handlers[0]!.connection!.push('xiaozhi/desk/down', Buffer.from('{"type":"tts","state":"start"}'));
    await eventually(() => xiaozhi.received.length === 2, 'both pushes');
    expect(xiaozhi.texts('xiaozhi/desk/down')).toEqual(['{"type":"hello"}', '{"type":"tts","state":"start"}']);
    expect(xiaozhi.received.every((r) => r.qos === 0 && !r.retain)).toBe(true);
    expect(written).toEqual([undefined]);
    expect(observer.received).toEqual([]);
  });

  it('refusals carry the hook\'s CONNACK code; other logins fall through to device auth', async () => {
    const { url } = await start();
    expect(await connackCode(url, 'xiaozhi:desk', 'wrong')).toBe(5); // a random client id: refused as not authorized
    const wrongToken = await new Promise<number>((resolve) => {
      void connectClient(url, 'xiaozhi:desk', 'wrong', desk).catch((error: { code?: number }) => resolve(error.code ?? -1));
    });
    expect(wrongToken).toBe(4);
    expect(await connackCode(url, 'kitchen-1', 'token-kitchen')).toBe(0);
  });

  it('its disconnect reaches the handler; a will outside its topic is dropped, one on its topic reaches the handler', async () => {
    const { url, handlers, bus } = await start();
    const xiaozhi = await connectClient(url, 'xiaozhi:desk', 'desk-token', { ...desk, will: { topic: 'voxgate/kitchen-1/up/ctrl', payload: Buffer.from('{"type":"goodbye"}'), qos: 0, retain: false } });
    await eventually(() => handlers[0]?.connection, 'the handler connected');
    xiaozhi.client.stream.destroy(); // lost, not a clean DISCONNECT: the will fires
    await eventually(() => handlers[0]!.ended.length === 1, 'the disconnect');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(bus.filter((t) => t.startsWith('voxgate/kitchen-1'))).toEqual([]);

    const again = await connectClient(url, 'xiaozhi:desk', 'desk-token', { ...desk, will: { topic: 'xiaozhi/desk/up', payload: Buffer.from('{"type":"goodbye"}'), qos: 0, retain: false } });
    await eventually(() => handlers[1]?.connection, 'the second handler connected');
    again.client.stream.destroy();
    await eventually(() => handlers[1]!.payloads.includes('{"type":"goodbye"}'), 'the will on its own topic');
  });

  it('a second connection with its client id replaces the first (each has its own handler)', async () => {
    const { url, handlers } = await start();
    await connectClient(url, 'xiaozhi:desk', 'desk-token', desk);
    await eventually(() => handlers[0]?.connection, 'first');
    await connectClient(url, 'xiaozhi:desk', 'desk-token', desk);
    await eventually(() => handlers[1]?.connection && handlers[0]!.ended.length === 1, 'second, first ended');
  });
});
