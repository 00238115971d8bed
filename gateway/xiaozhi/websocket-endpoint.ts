/**
 * Stock xiaozhi firmware's WebSocket, at the URL the OTA answer gave it (`/xiaozhi/v1/`,
 * main/protocols/websocket_protocol.cc). The upgrade is authenticated from its headers:
 * `Authorization: Bearer <token>` and `Device-Id: <MAC>` (a wrong one gets 401 before any
 * byte is read); `Protocol-Version` (1, 2 or 3) chooses the binary framing both ways.
 * After that it is a XiaozhiChannel: bytes in and out, the meaning is xiaozhi-session.ts's.
 */
import type { Server as HttpServer, IncomingMessage } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { WebSocket } from 'ws';
import { decodeBinaryFrame, encodeBinaryFrame, FRAME_TYPE_JSON, FRAME_TYPE_OPUS, isXiaozhiProtocolVersion, type XiaozhiProtocolVersion } from '../../protocol/xiaozhi/index.ts';
import type { Logger } from '../logger.ts';
import { checkDeviceCredentials, type AuthenticateDevice } from '../transport/auth.ts';
import { refuse, WebSocketConnections } from '../transport/websocket-connections.ts';
import { XIAOZHI_WEBSOCKET_PATH } from './ota-answer.ts';
import type { XiaozhiChannel, XiaozhiPort } from './xiaozhi-session.ts';

/** Both spellings lead here (the OTA answer gives the first). */
export const XIAOZHI_WEBSOCKET_PATHS = [XIAOZHI_WEBSOCKET_PATH, XIAOZHI_WEBSOCKET_PATH.slice(0, -1)] as const;
const BEARER = /^Bearer\s+(\S+)\s*$/i;

export interface XiaozhiWebSocketOptions {
  server: HttpServer | HttpsServer;
  /** The MAC (`Device-Id`) → the voxgate device id, or undefined for an unknown one. */
  deviceIdForMac(mac: string): string | undefined;
  authenticate: AuthenticateDevice;
  /** Opens the adapter (xiaozhi-session.ts) for a new, authenticated channel. */
  open(channel: XiaozhiChannel): XiaozhiPort;
  logger: Logger;
  maxMessageBytes: number;
  heartbeatIntervalMs: number;
  closeGraceMs: number;
}

export interface XiaozhiWebSocketEndpoint {
  readonly connectionCount: number;
  close(): Promise<void>;
}

export function attachXiaozhiWebSocket(options: XiaozhiWebSocketOptions): XiaozhiWebSocketEndpoint {
  const logger = options.logger.child({ transport: 'xiaozhi-websocket' });
  const sockets = new WebSocketConnections(options);
  const paths = new Set<string>(XIAOZHI_WEBSOCKET_PATHS);
  let stopping = false;

  function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    let pathname: string;
    try {
      pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
    } catch {
      return; // the device transport answers unreadable URLs
    }
    if (!paths.has(pathname)) return;
    socket.on('error', (err) => logger.debug({ err: err.message }, 'upgrade socket error'));
    if (stopping) return refuse(socket, 503, 'Service Unavailable');
    const remote = req.socket.remoteAddress;
    const versionHeader = req.headers['protocol-version'];
    const version = versionHeader === undefined ? 1 : Number(versionHeader);
    if (!isXiaozhiProtocolVersion(version)) {
      logger.warn({ remote, version: String(versionHeader).slice(0, 16) }, 'xiaozhi websocket refused: unsupported Protocol-Version');
      return refuse(socket, 400, 'Bad Request');
    }
    const mac = typeof req.headers['device-id'] === 'string' ? req.headers['device-id'] : '';
    const token = BEARER.exec(typeof req.headers.authorization === 'string' ? req.headers.authorization : '')?.[1];
    let deviceId: string | undefined;
    try {
      deviceId = mac ? options.deviceIdForMac(mac) : undefined;
    } catch (err) {
      logger.error({ err }, 'xiaozhi websocket refused: device lookup failed');
      return refuse(socket, 503, 'Service Unavailable');
    }
    const { verdict, error } = deviceId && token ? checkDeviceCredentials(options.authenticate, deviceId, token) : { verdict: 'bad_credentials' as const, error: undefined };
    if (verdict === 'error') {
      logger.error({ err: error, device: deviceId }, 'xiaozhi websocket refused: credential check failed');
      return refuse(socket, 503, 'Service Unavailable');
    }
    if (verdict !== 'ok') {
      logger.warn({ remote, mac: mac.slice(0, 32), device: deviceId }, 'xiaozhi websocket refused: bad credentials');
      return refuse(socket, 401, 'Unauthorized');
    }
    sockets.upgrade(req, socket, head, (ws) => serve(ws, deviceId!, version));
  }

  function serve(ws: WebSocket, deviceId: string, version: XiaozhiProtocolVersion): void {
    sockets.serve(ws, logger.child({ device: deviceId, version }), 'xiaozhi websocket', (close) => {
      const channel: XiaozhiChannel = {
        deviceId,
        transport: 'websocket',
        sendJson(message) {
          if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message));
        },
        sendAudio(packet) {
          if (ws.readyState === WebSocket.OPEN) ws.send(encodeBinaryFrame(version, packet), { binary: true });
        },
        close: (reason) => close(1000, reason),
        helloFields: () => ({ transport: 'websocket' }),
      };
      const port = options.open(channel);
      return {
        message(bytes, isBinary) {
          if (!isBinary) return port.receiveText(bytes.toString('utf8'));
          const decoded = decodeBinaryFrame(version, bytes);
          if (!decoded.ok) return port.receiveInvalid(decoded.reason);
          const { type, payload } = decoded.frame;
          if (type === FRAME_TYPE_OPUS) return port.receiveAudio(payload);
          if (type === FRAME_TYPE_JSON) return port.receiveText(Buffer.from(payload).toString('utf8'));
          port.receiveInvalid(`frame type ${type} is neither Opus (0) nor JSON (1)`);
        },
        disconnected: (reason) => port.disconnected(reason),
      };
    });
  }

  options.server.on('upgrade', onUpgrade);

  return {
    get connectionCount() {
      return sockets.count;
    },
    async close() {
      if (stopping) return;
      stopping = true;
      options.server.off('upgrade', onUpgrade);
      await sockets.close();
    },
  };
}
