/**
 * The socket side both WebSocket endpoints share (voxgate's own protocol and stock xiaozhi
 * firmware's): upgrading without a server of its own, the open sockets with a ping heartbeat
 * (a dead peer is gone within two intervals; xiaozhi firmware answers pings: esp-ml307
 * web_socket.cc), the reason a session hears when its socket closes, and closing them all
 * with a grace period. What a frame means is the endpoint's.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { Logger } from '../logger.ts';

/** RFC 6455 §5.5: a close frame's reason is at most 123 bytes. */
const MAX_CLOSE_REASON_BYTES = 123;

export interface WebSocketConnectionsOptions {
  /** ws `maxPayload`: a larger frame closes the socket (1009). */
  maxMessageBytes: number;
  heartbeatIntervalMs: number;
  /** How long close() waits for sockets to close before it cuts them. */
  closeGraceMs: number;
}

/** What an endpoint does with one served socket's frames. */
export interface SocketSession {
  message(bytes: Buffer, isBinary: boolean): void;
  disconnected(reason: string): void;
}

/** Closes the socket; `reason` is what the session hears (the first one given wins). */
export type CloseSocket = (code: number, reason: string) => void;

interface Connection {
  ws: WebSocket;
  /** Answered the last ping. */
  alive: boolean;
  /** Why we are closing it, when we are the ones closing. */
  closeReason?: string;
  closed: Promise<void>;
}

export class WebSocketConnections {
  private readonly wss: WebSocketServer;
  private readonly connections = new Set<Connection>();
  private readonly heartbeat: NodeJS.Timeout;

  constructor(private readonly options: WebSocketConnectionsOptions) {
    // Opus does not compress, and deflate invites decompression bombs.
    this.wss = new WebSocketServer({ noServer: true, clientTracking: false, maxPayload: options.maxMessageBytes, perMessageDeflate: false });
    this.heartbeat = setInterval(() => this.ping(), options.heartbeatIntervalMs);
    this.heartbeat.unref();
  }

  get count(): number {
    return this.connections.size;
  }

  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, serve: (ws: WebSocket) => void): void {
    this.wss.handleUpgrade(req, socket, head, serve);
  }

  /**
   * Serves one upgraded socket: `open` builds its session (given the socket's close), whose
   * failures cost this socket (1011), never the process. `label` names it in the log.
   */
  serve(ws: WebSocket, log: Logger, label: string, open: (close: CloseSocket) => SocketSession): void {
    let resolveClosed!: () => void;
    const connection: Connection = { ws, alive: true, closed: new Promise((resolve) => (resolveClosed = resolve)) };
    this.connections.add(connection);
    const close: CloseSocket = (code, reason) => {
      connection.closeReason ??= reason;
      ws.close(code, truncateCloseReason(reason));
    };
    let session: SocketSession | undefined;
    try {
      session = open(close);
    } catch (err) {
      log.error({ err }, 'could not open a session');
      close(1011, 'internal error');
    }
    ws.on('pong', () => (connection.alive = true));
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (!session) return;
      try {
        session.message(toBuffer(data), isBinary);
      } catch (err) {
        // A session bug must cost this device its connection, not the gateway its process.
        log.error({ err }, 'session failed on a websocket message');
        close(1011, 'internal error');
      }
    });
    ws.on('error', (err) => {
      connection.closeReason ??= `error: ${err.message}`;
      log.warn({ err: err.message }, 'websocket error');
    });
    ws.on('close', (code: number) => {
      this.connections.delete(connection);
      resolveClosed();
      const reason = connection.closeReason ?? `closed by device (${code})`;
      log.info({ reason }, `${label} closed`);
      try {
        session?.disconnected(reason);
      } catch (err) {
        log.error({ err }, 'session failed on disconnect');
      }
    });
    log.info(`${label} connected`);
  }

  /** Closes every socket (1001), cutting those still open after the grace period. */
  async close(): Promise<void> {
    clearInterval(this.heartbeat);
    const open = [...this.connections];
    for (const connection of open) {
      connection.closeReason ??= 'gateway stopping';
      connection.ws.close(1001, 'gateway stopping');
    }
    const grace = setTimeout(() => open.forEach((c) => c.ws.terminate()), this.options.closeGraceMs);
    await Promise.all(open.map((c) => c.closed));
    clearTimeout(grace);
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private ping(): void {
    for (const connection of this.connections) {
      if (!connection.alive) {
        connection.closeReason ??= 'heartbeat timeout';
        connection.ws.terminate();
        continue;
      }
      connection.alive = false;
      connection.ws.ping();
    }
  }
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
