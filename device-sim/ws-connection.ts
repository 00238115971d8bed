/** The WebSocket transport of docs/protocol.md §1.1, device side. */
import WebSocket from 'ws';
import type { DeviceMessage } from '../protocol/index.ts';
import { ConnectError, once, type ConnectOptions, type ConnectionHandlers, type DeviceConnection } from './connection.ts';

export const DEVICE_WS_PATH = '/v1/device';

/** `ws://host:port` → `ws://host:port/v1/device`; a URL that already names a path is kept as is. */
export function deviceWebSocketUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') throw new RangeError(`WebSocket URL must start with ws:// or wss://, got ${url}`);
  if (parsed.pathname === '/' || parsed.pathname === '') parsed.pathname = DEVICE_WS_PATH;
  return parsed.toString();
}

function connectErrorFrom(error: Error & { code?: string }): ConnectError {
  if (error.code === 'ECONNREFUSED') return new ConnectError('refused', `connection refused: ${error.message}`);
  return new ConnectError('failed', error.message);
}

export function connectWebSocket(options: ConnectOptions, handlers: ConnectionHandlers): Promise<DeviceConnection> {
  const url = deviceWebSocketUrl(options.url);
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, {
      headers: { Authorization: `Bearer ${options.token}`, 'Device-Id': options.deviceId },
      handshakeTimeout: options.connectTimeoutMs,
      perMessageDeflate: false, // audio does not compress, and a wearable would not spend the RAM
    });
    let opened = false;
    const fail = once((error: ConnectError) => {
      clearTimeout(timer);
      ws.terminate();
      reject(error);
    });
    const timer = setTimeout(
      () => fail(new ConnectError('timeout', `no WebSocket connection to ${url} within ${options.connectTimeoutMs} ms`)),
      options.connectTimeoutMs,
    );
    const reportClosed = once(handlers.closed);

    ws.on('unexpected-response', (_request, response) => {
      const status = response.statusCode ?? 0;
      response.resume();
      fail(new ConnectError(status === 401 ? 'unauthorized' : 'refused', `WebSocket upgrade refused with HTTP ${status}`));
    });
    ws.on('error', (error) => {
      if (!opened) fail(connectErrorFrom(error));
      // After opening, 'close' follows every error and reports it.
    });
    ws.on('open', () => {
      opened = true;
      clearTimeout(timer);
      resolve(connection);
    });
    ws.on('message', (data, isBinary) => {
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
      if (isBinary) handlers.audio(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), undefined);
      else handlers.control(bytes.toString('utf8'));
    });
    ws.on('close', (code, reason) => {
      clearTimeout(timer);
      if (opened) reportClosed(`websocket closed (${code}${reason.length ? ` ${reason.toString()}` : ''})`);
    });

    const connection: DeviceConnection = {
      transport: 'websocket',
      sendControl(message: DeviceMessage) {
        return new Promise<void>((done, failed) => {
          if (ws.readyState !== WebSocket.OPEN) return failed(new Error('websocket is not open'));
          ws.send(JSON.stringify(message), (error) => (error ? failed(error) : done()));
        });
      },
      sendAudio(packet) {
        if (ws.readyState === WebSocket.OPEN) ws.send(packet, { binary: true });
      },
      close() {
        return new Promise<void>((done) => {
          if (ws.readyState === WebSocket.CLOSED) return done();
          const forced = setTimeout(() => ws.terminate(), options.closeTimeoutMs);
          ws.once('close', () => {
            clearTimeout(forced);
            done();
          });
          ws.close(1000, 'goodbye');
        });
      },
      drop() {
        ws.terminate();
      },
    };
  });
}
