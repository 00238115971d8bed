/**
 * The WebSocket transport (docs/protocol.md §1.1): authenticates at the HTTP upgrade, then turns
 * text frames into control messages and binary frames into audio for one session per socket.
 * It never knows about speech: everything after parsing is the session's business.
 */
import type { Server as HttpServer, IncomingMessage } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { WebSocket } from 'ws';
import { parseDeviceMessage } from '../../protocol/index.ts';
import type { Logger } from '../logger.ts';
import type { DeviceLink, SessionOpener } from '../session/link.ts';
import { checkDeviceCredentials, readWebSocketCredentials, type AuthenticateDevice } from './auth.ts';
import { refuse, WebSocketConnections } from './websocket-connections.ts';
import { MAX_WEBSOCKET_PAYLOAD_BYTES, WEBSOCKET_CLOSE_GRACE_MS, WEBSOCKET_HEARTBEAT_INTERVAL_MS } from './transport-config.ts';

export const DEFAULT_WEBSOCKET_PATH = '/v1/device';

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

export function attachWebSocketTransport(options: WebSocketTransportOptions): WebSocketTransport {
  const path = options.path ?? DEFAULT_WEBSOCKET_PATH;
  const { server, authenticate, openSession } = options;
  const logger = options.logger.child({ transport: 'websocket' });
  const sockets = new WebSocketConnections({
    maxMessageBytes: options.maxMessageBytes ?? MAX_WEBSOCKET_PAYLOAD_BYTES,
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? WEBSOCKET_HEARTBEAT_INTERVAL_MS,
    closeGraceMs: options.closeGraceMs ?? WEBSOCKET_CLOSE_GRACE_MS,
  });
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
    sockets.upgrade(req, socket, head, (ws) => serve(ws, credentials.deviceId));
  }

  function serve(ws: WebSocket, deviceId: string): void {
    sockets.serve(ws, logger.child({ device: deviceId }), 'websocket', (close) => {
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
          close(1000, reason);
        },
      };
      const port = openSession(link);
      return {
        message: (bytes, isBinary) => (isBinary ? port.receiveAudio({ packet: bytes }) : port.receiveControl(parseDeviceMessage(bytes.toString('utf8')))),
        disconnected: (reason) => port.disconnected(reason),
      };
    });
  }

  server.on('upgrade', onUpgrade);

  return {
    get connectionCount() {
      return sockets.count;
    },
    async close() {
      if (stopping) return;
      stopping = true;
      server.off('upgrade', onUpgrade);
      await sockets.close();
    },
  };
}
