/**
 * A fake gateway on loopback port 0 for the device-simulator tests (test only), over either
 * transport: a WebSocket server checking the Bearer/Device-Id headers, or an aedes broker with
 * a gateway-side mqtt.js client. Device credentials: token = `token-<device id>`.
 */
import { EventEmitter, once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { Aedes, type AuthenticateError } from 'aedes';
import mqtt from 'mqtt';
import { WebSocketServer, type WebSocket } from 'ws';
import { createTopics, decodeAudioFrame, encodeAudioFrame, FRAME_KIND } from '../../protocol/index.ts';
import { DEFAULT_SCRIPT, FakeSession, type FakeScript } from './fake-gateway-session.ts';

export const tokenFor = (deviceId: string) => `token-${deviceId}`;

export interface FakeGateway {
  readonly url: string;
  readonly script: FakeScript;
  readonly sessions: Map<string, FakeSession>;
  /** Resolves once the device has sent its first message. */
  session(deviceId: string): Promise<FakeSession>;
  /** Drops the device's connection from the gateway side. */
  kick(deviceId: string): void;
  close(): Promise<void>;
}

class SessionRegistry extends EventEmitter {
  readonly sessions = new Map<string, FakeSession>();
  add(session: FakeSession): FakeSession {
    this.sessions.set(session.deviceId, session);
    this.emit('session', session);
    return session;
  }
  async get(deviceId: string): Promise<FakeSession> {
    for (;;) {
      const existing = this.sessions.get(deviceId);
      if (existing) return existing;
      await once(this, 'session');
    }
  }
}

export async function startFakeGateway(transport: 'websocket' | 'mqtt', script: Partial<FakeScript> = {}): Promise<FakeGateway> {
  const fullScript: FakeScript = { ...DEFAULT_SCRIPT, ...script };
  return transport === 'websocket' ? startWs(fullScript) : startMqtt(fullScript);
}

async function startWs(script: FakeScript): Promise<FakeGateway> {
  const registry = new SessionRegistry();
  const server = http.createServer((_req, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({ noServer: true });
  const sockets = new Map<string, WebSocket>();
  server.on('upgrade', (req, socket, head) => {
    const deviceId = String(req.headers['device-id'] ?? '');
    const authorized = req.url === '/v1/device' && req.headers.authorization === `Bearer ${tokenFor(deviceId)}` && deviceId !== '';
    if (!authorized) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      sockets.set(deviceId, ws);
      const session = registry.add(
        new FakeSession(deviceId, 'websocket', { sendText: (text) => ws.send(text), sendAudio: (packet) => ws.send(packet) }, script),
      );
      ws.on('message', (data, isBinary) => {
        const bytes = data as Buffer;
        if (isBinary) session.receiveAudio(new Uint8Array(bytes));
        else session.receiveControl(bytes.toString('utf8'));
      });
      ws.on('close', (code) => session.disconnected(`close ${code}`));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}`,
    script,
    sessions: registry.sessions,
    session: (id) => registry.get(id),
    kick: (id) => sockets.get(id)?.terminate(),
    async close() {
      for (const client of wss.clients) client.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const GATEWAY_USER = 'fake-gateway';
const GATEWAY_PASSWORD = 'fake-gateway-secret';

async function startMqtt(script: FakeScript): Promise<FakeGateway> {
  const registry = new SessionRegistry();
  const topics = createTopics();
  const broker = await Aedes.createBroker();
  const deviceOf = new WeakMap<object, string>();
  const clients = new Map<string, { close(): void }>();
  broker.authenticate = (client, username, password, done) => {
    const secret = password?.toString('utf8') ?? '';
    const ok = username === GATEWAY_USER ? secret === GATEWAY_PASSWORD : !!username && secret === tokenFor(username);
    if (ok && username !== GATEWAY_USER) {
      deviceOf.set(client, username!);
      clients.set(username!, client);
    }
    if (ok) return done(null, true);
    done(Object.assign(new Error('bad credentials'), { returnCode: 4 }) as AuthenticateError, null);
  };
  const server = net.createServer(broker.handle);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const gateway = await mqtt.connectAsync(url, { username: GATEWAY_USER, password: GATEWAY_PASSWORD, reconnectPeriod: 0, protocolVersion: 4 });
  await gateway.subscribeAsync(topics.allUplinks(), { qos: 1 });
  const sessionFor = (deviceId: string) =>
    registry.sessions.get(deviceId) ??
    registry.add(
      new FakeSession(
        deviceId,
        'mqtt',
        {
          sendText: (text) => void gateway.publish(topics.downCtrl(deviceId), text, { qos: 1 }),
          sendAudio: (packet, turn, seq) =>
            void gateway.publish(topics.downAudio(deviceId), encodeAudioFrame({ kind: FRAME_KIND.reply, seq, turn, payload: packet }), { qos: 0 }),
        },
        script,
      ),
    );
  gateway.on('message', (topic, payload) => {
    const parsed = topics.parse(topic);
    if (!parsed) return;
    const session = sessionFor(parsed.deviceId);
    if (parsed.channel === 'up/ctrl') return session.receiveControl(payload.toString('utf8'));
    if (parsed.channel !== 'up/audio') return;
    const decoded = decodeAudioFrame(payload);
    if (!decoded.ok || decoded.frame.kind !== FRAME_KIND.mic) return void session.invalid.push(`bad frame on ${topic}`);
    session.receiveAudio(decoded.frame.payload, { turn: decoded.frame.turn, seq: decoded.frame.seq });
  });
  broker.on('clientDisconnect', (client) => {
    const deviceId = deviceOf.get(client);
    if (deviceId) registry.sessions.get(deviceId)?.disconnected('mqtt disconnect');
  });

  return {
    url,
    script,
    sessions: registry.sessions,
    session: (id) => registry.get(id),
    kick: (id) => clients.get(id)?.close(),
    async close() {
      await gateway.endAsync(true);
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
