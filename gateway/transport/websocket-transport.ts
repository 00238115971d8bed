/**
 * The WebSocket transport (docs/protocol.md §1.1): authenticates at the HTTP upgrade, then turns
 * text frames into control messages and binary frames into audio for one session per socket.
 * It never knows about speech: everything after parsing is the session's business.
 */
import type { Server as HttpServer, IncomingMessage } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { parseDeviceMessage } from '../../protocol/index.ts';
import type { Logger } from '../logger.ts';
import type { DeviceLink, DeviceSessionPort, SessionOpener } from '../session/link.ts';
import { checkDeviceCredentials, readWebSocketCredentials, type AuthenticateDevice } from './auth.ts';
import { MAX_WEBSOCKET_PAYLOAD_BYTES, WEBSOCKET_CLOSE_GRACE_MS, WEBSOCKET_HEARTBEAT_INTERVAL_MS } from './transport-config.ts';

export const DEFAULT_WEBSOCKET_PATH = '/v1/device';
/** RFC 6455 §5.5: a close frame's reason is at most 123 bytes. */
const MAX_CLOSE_REASON_BYTES = 123;

export interface WebSocketTransportOptions {
  server: HttpServer | HttpsServer;
  path?: string;
  /** Upgrade paths another endpoint on the same server answers (stock xiaozhi firmware's); left alone here. */
  ignorePaths?: readonly string[];
  authenticate: AuthenticateDevice;
  openSession: SessionOpener;
  logger: Logger;
  /** ws `maxPayload`; defaults to MAX_WEBSOCKET_PAYLOAD_BYTES. */
  maxMessageBytes?: number;
  heartbeatIntervalMs?: number;
  closeGraceMs?: number;
}

export interface WebSocketTransport {
  /** Open device sockets right now. */
  readonly connectionCount: number;
  /** Stops accepting upgrades and closes every device socket (each session gets `disconnected`). */
  close(): Promise<void>;
}

interface Connection {
  ws: WebSocket;
  /** Answered the last ping (heartbeat). */
  alive: boolean;
  /** Why we are closing it, when we are the ones closing. */
  closeReason?: string;
  closed: Promise<void>;
}

export function attachWebSocketTransport(options: WebSocketTransportOptions): WebSocketTransport {
  const path = options.path ?? DEFAULT_WEBSOCKET_PATH;
  const { server, authenticate, openSession } = options;
  const logger = options.logger.child({ transport: 'websocket' });
  const wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    maxPayload: options.maxMessageBytes ?? MAX_WEBSOCKET_PAYLOAD_BYTES,
    // Opus does not compress, and deflate invites decompression bombs.
    perMessageDeflate: false,
  });
  const connections = new Set<Connection>();
  const ignored = new Set(options.ignorePaths ?? []);
  let stopping = false;

  function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', (err) => logger.debug({ err: err.message }, 'upgrade socket error'));
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      return refuse(socket, 400, 'Bad Request');
    }
    if (ignored.has(url.pathname)) return;
    if (stopping) return refuse(socket, 503, 'Service Unavailable');
    if (url.pathname !== path) return refuse(socket, 404, 'Not Found');
    const credentials = readWebSocketCredentials(req, url);
    const remote = req.socket.remoteAddress;
    if (!credentials) {
      logger.warn({ remote }, 'websocket refused: no credentials');
      return refuse(socket, 401, 'Unauthorized');
    }
    const { verdict, error } = checkDeviceCredentials(authenticate, credentials.deviceId, credentials.token);
    if (verdict === 'error') {
      logger.error({ err: error, device: credentials.deviceId }, 'websocket refused: credential check failed');
      return refuse(socket, 503, 'Service Unavailable');
    }
    if (verdict !== 'ok') {
      logger.warn({ remote, device: credentials.deviceId.slice(0, 64) }, 'websocket refused: bad credentials');
      return refuse(socket, 401, 'Unauthorized');
    }
    wss.handleUpgrade(req, socket, head, (ws) => serve(ws, credentials.deviceId));
  }

  function serve(ws: WebSocket, deviceId: string): void {
    const log = logger.child({ device: deviceId });
    let resolveClosed!: () => void;
    const connection: Connection = { ws, alive: true, closed: new Promise((resolve) => (resolveClosed = resolve)) };
    connections.add(connection);

    const closeWith = (code: number, reason: string) => {
      connection.closeReason ??= reason;
      ws.close(code, truncateCloseReason(reason));
    };
    const link: DeviceLink = {
      deviceId,
      transport: 'websocket',
      send(message) {
        if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message));
      },
      // The socket keeps order and turns are delimited by JSON messages, so no header (docs/protocol.md §1.1).
      sendAudio(packet) {
        if (ws.readyState === WebSocket.OPEN) ws.send(packet, { binary: true });
      },
      close(reason) {
        closeWith(1000, reason);
      },
    };

    let port: DeviceSessionPort | undefined;
    try {
      port = openSession(link);
    } catch (err) {
      log.error({ err }, 'could not open a session');
      closeWith(1011, 'internal error');
    }

    ws.on('pong', () => {
      connection.alive = true;
    });
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (!port) return;
      try {
        if (isBinary) port.receiveAudio({ packet: toBuffer(data) });
        else port.receiveControl(parseDeviceMessage(toBuffer(data).toString('utf8')));
      } catch (err) {
        // A session bug must cost this device its connection, not the gateway its process.
        log.error({ err }, 'session failed on a websocket message');
        closeWith(1011, 'internal error');
      }
    });
    ws.on('error', (err) => {
      connection.closeReason ??= `error: ${err.message}`;
      log.warn({ err: err.message }, 'websocket error');
    });
    ws.on('close', (code: number) => {
      connections.delete(connection);
      resolveClosed();
      const reason = connection.closeReason ?? `closed by device (${code})`;
      log.info({ reason }, 'websocket closed');
      try {
        port?.disconnected(reason);
      } catch (err) {
        log.error({ err }, 'session failed on disconnect');
      }
    });
    log.info('websocket connected');
  }

  const heartbeat = setInterval(() => {
    for (const connection of connections) {
      if (!connection.alive) {
        connection.closeReason ??= 'heartbeat timeout';
        connection.ws.terminate();
        continue;
      }
      connection.alive = false;
      connection.ws.ping();
    }
  }, options.heartbeatIntervalMs ?? WEBSOCKET_HEARTBEAT_INTERVAL_MS);
  heartbeat.unref();

  server.on('upgrade', onUpgrade);

  return {
    get connectionCount() {
      return connections.size;
    },
    async close() {
      if (stopping) return;
      stopping = true;
      clearInterval(heartbeat);
      server.off('upgrade', onUpgrade);
      const open = [...connections];
      for (const connection of open) {
        connection.closeReason ??= 'gateway stopping';
        connection.ws.close(1001, 'gateway stopping');
      }
      const grace = setTimeout(() => open.forEach((c) => c.ws.terminate()), options.closeGraceMs ?? WEBSOCKET_CLOSE_GRACE_MS);
      await Promise.all(open.map((c) => c.closed));
      clearTimeout(grace);
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

/** Answers an upgrade with a plain HTTP status and closes it; nothing the client sent is read. */
export function refuse(socket: Duplex, status: number, text: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const extra = status === 401 ? 'WWW-Authenticate: Bearer\r\n' : '';
  socket.once('finish', () => socket.destroy());
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n${extra}\r\n`);
}

export function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

export function truncateCloseReason(reason: string): string {
  let out = reason;
  while (Buffer.byteLength(out) > MAX_CLOSE_REASON_BYTES) out = out.slice(0, -1);
  return out;
}
