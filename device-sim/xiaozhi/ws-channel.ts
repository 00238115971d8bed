/**
 * The WebSocket of stock xiaozhi firmware, device side (main/protocols/websocket_protocol.cc
 * OpenAudioChannel): headers `Authorization: Bearer <token>`, `Protocol-Version`, `Device-Id`
 * (MAC), `Client-Id`; text frames are JSON, binary frames are Opus in the version's framing.
 */
import WebSocket from 'ws';
import { decodeBinaryFrame, encodeBinaryFrame, FRAME_TYPE_JSON, type XiaozhiProtocolVersion } from '../../protocol/xiaozhi/index.ts';
import { ConnectError, once } from '../connection.ts';
import type { XiaozhiChannelHandlers, XiaozhiSimChannel } from './sim-channel.ts';

export type { XiaozhiChannelHandlers } from './sim-channel.ts';

export interface XiaozhiWsOptions {
  url: string;
  token: string;
  version: XiaozhiProtocolVersion;
  mac: string;
  clientId: string;
  /** The firmware gives up on the handshake after 10 s. */
  connectTimeoutMs: number;
  closeTimeoutMs: number;
}

export type XiaozhiWsChannel = XiaozhiSimChannel;

export function connectXiaozhiWebSocket(options: XiaozhiWsOptions, handlers: XiaozhiChannelHandlers): Promise<XiaozhiWsChannel> {
  const { version } = options;
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {
      'Protocol-Version': String(version),
      'Device-Id': options.mac,
      'Client-Id': options.clientId,
    };
    // websocket_protocol.cc: an empty token sends no header; one without a space gets "Bearer ".
    if (options.token) headers.Authorization = options.token.includes(' ') ? options.token : `Bearer ${options.token}`;
    const ws = new WebSocket(options.url, { headers, handshakeTimeout: options.connectTimeoutMs, perMessageDeflate: false });
    let opened = false;
    const fail = once((error: ConnectError) => {
      clearTimeout(timer);
      ws.terminate();
      reject(error);
    });
    const timer = setTimeout(() => fail(new ConnectError('timeout', `no WebSocket connection to ${options.url} within ${options.connectTimeoutMs} ms`)), options.connectTimeoutMs);
    const reportClosed = once(handlers.closed);
    ws.on('unexpected-response', (_request, response) => {
      const status = response.statusCode ?? 0;
      response.resume();
      fail(new ConnectError(status === 401 ? 'unauthorized' : 'refused', `WebSocket upgrade refused with HTTP ${status}`));
    });
    ws.on('error', (error: Error & { code?: string }) => {
      if (!opened) fail(new ConnectError(error.code === 'ECONNREFUSED' ? 'refused' : 'failed', error.message));
    });
    ws.on('open', () => {
      opened = true;
      clearTimeout(timer);
      resolve(channel);
    });
    ws.on('message', (data, isBinary) => {
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
      if (!isBinary) return handlers.json(bytes.toString('utf8'));
      const decoded = decodeBinaryFrame(version, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      if (!decoded.ok) return handlers.invalid(decoded.reason);
      if (decoded.frame.type === FRAME_TYPE_JSON) return handlers.json(Buffer.from(decoded.frame.payload).toString('utf8'));
      handlers.audio(decoded.frame.payload.slice());
    });
    ws.on('close', (code, reason) => {
      clearTimeout(timer);
      if (opened) reportClosed(`websocket closed (${code}${reason.length ? ` ${reason.toString()}` : ''})`);
    });

    const channel: XiaozhiWsChannel = {
      transport: 'websocket',
      sendJson(message) {
        return new Promise<void>((done, failed) => {
          if (ws.readyState !== WebSocket.OPEN) return failed(new Error('websocket is not open'));
          ws.send(JSON.stringify(message), (error) => (error ? failed(error) : done()));
        });
      },
      sendAudio(packet) {
        if (ws.readyState === WebSocket.OPEN) ws.send(encodeBinaryFrame(version, packet), { binary: true });
      },
      sendRawBinary(frame) {
        if (ws.readyState === WebSocket.OPEN) ws.send(frame, { binary: true });
      },
      close() {
        return new Promise<void>((done) => {
          if (ws.readyState === WebSocket.CLOSED) return done();
          const forced = setTimeout(() => ws.terminate(), options.closeTimeoutMs);
          ws.once('close', () => {
            clearTimeout(forced);
            done();
          });
          // The firmware just drops the socket (CloseAudioChannel → websocket_.reset()).
          ws.close(1000);
        });
      },
      drop() {
        ws.terminate();
      },
    };
  });
}
