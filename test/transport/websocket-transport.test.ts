import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { attachWebSocketTransport, type WebSocketTransport } from '../../gateway/transport/websocket-transport.ts';
import { RecordingSessions, type RecordingOptions } from '../fakes/recording-session.ts';
import { captureLogger, eventually, type LogLine } from './helpers.ts';

const DEVICES = new Map([
  ['kitchen-1', 'token-kitchen'],
  ['desk-2', 'token-desk'],
]);
const authenticate = (id: string, token: string) => DEVICES.get(id) === token;

let server: http.Server;
let transport: WebSocketTransport;
let recorder: RecordingSessions;
let logLines: LogLine[];
let base: string;
const clients: WebSocket[] = [];

async function start(options: { recording?: RecordingOptions; heartbeatIntervalMs?: number; maxMessageBytes?: number } = {}) {
  recorder = new RecordingSessions(options.recording ?? { echo: true });
  const { logger, lines } = captureLogger();
  logLines = lines;
  server = http.createServer((_req, res) => res.writeHead(418).end());
  transport = attachWebSocketTransport({
    server,
    authenticate,
    openSession: recorder.opener,
    logger,
    heartbeatIntervalMs: options.heartbeatIntervalMs,
    maxMessageBytes: options.maxMessageBytes,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Connects and resolves with the open socket, or rejects with the HTTP status of a refused upgrade. */
function connect(path: string, options: ConstructorParameters<typeof WebSocket>[2] = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${base}${path}`, options);
    clients.push(ws);
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })));
    ws.once('error', reject);
  });
}

const withHeaders = (id: string, token: string) => ({ headers: { Authorization: `Bearer ${token}`, 'Device-Id': id } });

function nextMessage(ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  return new Promise((resolve) => ws.once('message', (data, isBinary) => resolve({ data: data as Buffer, isBinary })));
}

function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
}

afterEach(async () => {
  for (const ws of clients.splice(0)) ws.terminate();
  await transport?.close();
  await new Promise((resolve) => server?.close(resolve));
});

describe('websocket transport: authentication at the upgrade', () => {
  beforeEach(() => start());

  it.each([
    ['no credentials', '/v1/device', {}],
    ['a wrong token', '/v1/device', withHeaders('kitchen-1', 'token-desk')],
    ['an unknown device', '/v1/device', withHeaders('ghost-9', 'token-kitchen')],
    ['a reserved id', '/v1/device', withHeaders('gateway', 'token-kitchen')],
    ['a wrong token in the query', '/v1/device?device_id=kitchen-1&token=nope', {}],
    ['a token without a device id', '/v1/device?token=token-kitchen', {}],
    ['a malformed Authorization header', '/v1/device', { headers: { Authorization: 'Basic token-kitchen', 'Device-Id': 'kitchen-1' } }],
  ])('answers 401 for %s and opens no session', async (_name, path, options) => {
    await expect(connect(path, options)).rejects.toMatchObject({ status: 401 });
    expect(recorder.sessions).toHaveLength(0);
    expect(transport.connectionCount).toBe(0);
  });

  it('answers 404 for another path, even with good credentials', async () => {
    await expect(connect('/v1/other', withHeaders('kitchen-1', 'token-kitchen'))).rejects.toMatchObject({ status: 404 });
    expect(recorder.sessions).toHaveLength(0);
  });

  it('logs a refusal without the token', async () => {
    await expect(connect('/v1/device', withHeaders('kitchen-1', 'secret-guess'))).rejects.toMatchObject({ status: 401 });
    const refusal = logLines.find((l) => l.msg === 'websocket refused: bad credentials');
    expect(refusal?.device).toBe('kitchen-1');
    expect(JSON.stringify(logLines)).not.toContain('secret-guess');
  });

  it('accepts query-string credentials (browsers) and names the device on the link', async () => {
    const ws = await connect('/v1/device?device_id=desk-2&token=token-desk');
    ws.send(JSON.stringify({ type: 'hello', version: 1, transport: 'websocket' }));
    await eventually(() => recorder.forDevice('desk-2')[0]?.controls.length, 'hello to arrive');
    const [session] = recorder.sessions;
    expect(session?.link.deviceId).toBe('desk-2');
    expect(session?.link.transport).toBe('websocket');
    expect(recorder.controlTypes('desk-2')).toEqual(['hello']);
    expect(transport.connectionCount).toBe(1);
  });
});

describe('websocket transport: routing', () => {
  beforeEach(() => start());

  it('sends text frames to receiveControl and binary frames to receiveAudio, in order', async () => {
    const ws = await connect('/v1/device', withHeaders('kitchen-1', 'token-kitchen'));
    ws.send(JSON.stringify({ type: 'hello', version: 1 }));
    ws.send(Buffer.from([1, 2, 3]));
    ws.send(JSON.stringify({ type: 'listen', state: 'stop', turn: 4, frames: 1 }));
    ws.send(Buffer.from([4, 5]));
    const session = await eventually(() => recorder.sessions[0], 'a session');
    await eventually(() => session.controls.length === 2 && session.audio.length === 2, 'all four frames');
    expect(recorder.controlTypes('kitchen-1')).toEqual(['hello', 'listen']);
    expect(session.audio.map((a) => [...a.packet])).toEqual([[1, 2, 3], [4, 5]]);
    expect(session.audio[0]?.turn).toBeUndefined();
    expect(session.audio[0]?.seq).toBeUndefined();
  });

  it('delivers malformed JSON as `invalid` and unknown types as `ignored`', async () => {
    const ws = await connect('/v1/device', withHeaders('kitchen-1', 'token-kitchen'));
    ws.send('{"type":"hello",');
    ws.send(JSON.stringify({ type: 'from_the_future' }));
    ws.send(JSON.stringify({ type: 'listen', state: 'start', turn: -1 }));
    const session = await eventually(() => recorder.sessions[0], 'a session');
    await eventually(() => session.controls.length === 3, 'three controls');
    expect(session.controls.map((c) => c.kind)).toEqual(['invalid', 'ignored', 'invalid']);
    expect(transport.connectionCount).toBe(1);
  });

  it('link.send arrives as a text frame and link.sendAudio as a bare binary frame', async () => {
    const ws = await connect('/v1/device', withHeaders('kitchen-1', 'token-kitchen'));
    let reply = nextMessage(ws);
    ws.send(JSON.stringify({ type: 'ping', id: 42 }));
    const pong = await reply;
    expect(pong.isBinary).toBe(false);
    expect(JSON.parse(pong.data.toString())).toEqual({ type: 'pong', id: 42 });
    reply = nextMessage(ws);
    ws.send(Buffer.from([9, 8, 7, 6]));
    const audio = await reply;
    expect(audio.isBinary).toBe(true);
    expect([...audio.data]).toEqual([9, 8, 7, 6]); // no MQTT header on WebSocket
  });

  it('reports a device close to the session exactly once', async () => {
    const ws = await connect('/v1/device', withHeaders('kitchen-1', 'token-kitchen'));
    ws.send(JSON.stringify({ type: 'hello' }));
    const session = await eventually(() => recorder.sessions[0], 'a session');
    ws.close(1000, 'bye');
    await eventually(() => transport.connectionCount === 0, 'the transport to forget the socket');
    expect(session.disconnects).toEqual(['closed by device (1000)']);
  });

  it('link.close closes the socket with its reason, then reports disconnected once', async () => {
    const ws = await connect('/v1/device', withHeaders('kitchen-1', 'token-kitchen'));
    const session = await eventually(() => recorder.sessions[0], 'a session');
    const end = closed(ws);
    session.link.close('hello timeout');
    expect(await end).toEqual({ code: 1000, reason: 'hello timeout' });
    await eventually(() => session.disconnects.length, 'disconnected');
    expect(session.disconnects).toEqual(['hello timeout']);
    session.link.send({ type: 'pong' }); // after close: dropped, not thrown
  });

  it('keeps devices apart: each socket has its own session', async () => {
    const a = await connect('/v1/device', withHeaders('kitchen-1', 'token-kitchen'));
    const b = await connect('/v1/device', withHeaders('desk-2', 'token-desk'));
    a.send(JSON.stringify({ type: 'ping', id: 'a' }));
    b.send(Buffer.from([1]));
    await eventually(() => recorder.forDevice('kitchen-1')[0]?.controls.length && recorder.forDevice('desk-2')[0]?.audio.length, 'both');
    expect(recorder.forDevice('kitchen-1')[0]?.audio).toEqual([]);
    expect(recorder.forDevice('desk-2')[0]?.controls).toEqual([]);
    a.close();
    await eventually(() => recorder.forDevice('kitchen-1')[0]?.disconnects.length, 'a disconnected');
    expect(recorder.forDevice('desk-2')[0]?.disconnects).toEqual([]);
    expect(transport.connectionCount).toBe(1);
  });

  it('close() says goodbye to every device and reports each session once', async () => {
    const ws = await connect('/v1/device', withHeaders('kitchen-1', 'token-kitchen'));
    const session = await eventually(() => recorder.sessions[0], 'a session');
    const end = closed(ws);
    await transport.close();
    expect((await end).code).toBe(1001);
    expect(session.disconnects).toEqual(['gateway stopping']);
    expect(transport.connectionCount).toBe(0);
  });
});

describe('websocket transport: limits and failures', () => {
  it('closes a socket whose frame exceeds the hard cap (1009) and keeps serving others', async () => {
    await start({ maxMessageBytes: 1024 });
    const other = await connect('/v1/device', withHeaders('desk-2', 'token-desk'));
    const ws = await connect('/v1/device', withHeaders('kitchen-1', 'token-kitchen'));
    const end = closed(ws);
    ws.send(Buffer.alloc(2048));
    expect((await end).code).toBe(1009);
    const session = recorder.forDevice('kitchen-1')[0]!;
    await eventually(() => session.disconnects.length, 'disconnected');
    expect(session.audio).toEqual([]);
    expect(session.disconnects).toHaveLength(1);
    const pong = nextMessage(other);
    other.send(JSON.stringify({ type: 'ping', id: 1 }));
    expect(JSON.parse((await pong).data.toString())).toEqual({ type: 'pong', id: 1 });
  });

  it('a session that throws costs only its own connection (1011)', async () => {
    await start({ recording: { echo: true, throwOnType: 'reset' } });
    const other = await connect('/v1/device', withHeaders('desk-2', 'token-desk'));
    const ws = await connect('/v1/device', withHeaders('kitchen-1', 'token-kitchen'));
    const end = closed(ws);
    ws.send(JSON.stringify({ type: 'reset' }));
    expect((await end).code).toBe(1011);
    await eventually(() => recorder.forDevice('kitchen-1')[0]?.disconnects.length, 'disconnected');
    expect(recorder.forDevice('kitchen-1')[0]?.disconnects).toEqual(['internal error']);
    const pong = nextMessage(other);
    other.send(JSON.stringify({ type: 'ping', id: 2 }));
    expect(JSON.parse((await pong).data.toString())).toEqual({ type: 'pong', id: 2 });
  });

  it('terminates a client that stops answering pings, and keeps one that answers', async () => {
    await start({ heartbeatIntervalMs: 50 });
    const healthy = await connect('/v1/device', withHeaders('desk-2', 'token-desk'));
    let pings = 0;
    healthy.on('ping', () => pings++);
    const dead = await connect('/v1/device', { ...withHeaders('kitchen-1', 'token-kitchen'), autoPong: false });
    const deadSession = recorder.forDevice('kitchen-1')[0]!;
    await eventually(() => deadSession.disconnects.length, 'the silent client to be dropped');
    expect(deadSession.disconnects).toEqual(['heartbeat timeout']);
    expect(dead.readyState).not.toBe(WebSocket.OPEN);
    await eventually(() => pings >= 4, 'the healthy client to survive several heartbeats');
    expect(healthy.readyState).toBe(WebSocket.OPEN);
    expect(recorder.forDevice('desk-2')[0]?.disconnects).toEqual([]);
  });
});
