/**
 * The HTTP server's timeouts (issue 11 item 8): a client that never finishes its request
 * (slow headers, a body that stops) is answered 408 and cut off; a long streamed response and
 * a WebSocket device outlive the request timeout.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SimDevice } from '../../device-sim/index.ts';
import { createHttpServer } from '../../gateway/http/http-server.ts';
import { loadConfig } from '../../gateway/config.ts';
import { discardLogger } from '../fakes/capture-logger.ts';
import { FakeTts } from '../fakes/fake-tts.ts';
import { useTempDirs } from '../helpers/temp-dir.ts';
import { startTestGateway } from './helpers/test-gateway.ts';

const tempDir = useTempDirs('http-timeouts');
const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

/** Sends `text` on a raw socket and resolves with what came back once the server closed it (or after `waitMs`). */
function rawExchange(port: number, text: string, waitMs: number): Promise<{ answer: string; closedAfterMs: number | undefined }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = net.connect(port, '127.0.0.1', () => socket.write(text));
    let answer = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (answer += chunk));
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ answer, closedAfterMs: undefined });
    }, waitMs);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ answer, closedAfterMs: Date.now() - started });
    });
    socket.on('error', () => {});
  });
}

async function server(options: { requestTimeoutMs?: number; headersTimeoutMs?: number }) {
  const http = createHttpServer(discardLogger(), options);
  http.route('POST', '/upload', (req, res) => {
    req.resume();
    req.on('end', () => res.end('stored'));
  });
  http.route('GET', '/stream', async (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    for (let i = 0; i < 15; i++) {
      res.write(`chunk ${i}\n`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    res.end('done\n');
  });
  const port = await http.listen('127.0.0.1', 0);
  cleanup.push(() => http.close());
  return port;
}

describe('HTTP timeouts', () => {
  it('a body that stops arriving gets 408 and the connection closed, after the request timeout', async () => {
    const port = await server({ requestTimeoutMs: 600, headersTimeoutMs: 300 });
    const { answer, closedAfterMs } = await rawExchange(port, 'POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nonly the start', 5_000);
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(closedAfterMs).toBeGreaterThanOrEqual(500);
    expect(closedAfterMs).toBeLessThan(3_000);
  });

  it('headers that never end get cut off after the headers timeout', async () => {
    const port = await server({ requestTimeoutMs: 5_000, headersTimeoutMs: 300 });
    const { answer, closedAfterMs } = await rawExchange(port, 'GET /stream HTTP/1.1\r\nHost: x\r\nX-Slow: ', 5_000);
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(closedAfterMs).toBeLessThan(2_000);
  });

  it('a response that streams for longer than the request timeout is not cut', async () => {
    const port = await server({ requestTimeoutMs: 400, headersTimeoutMs: 200 });
    const started = Date.now();
    const text = await (await fetch(`http://127.0.0.1:${port}/stream`)).text();
    expect(Date.now() - started).toBeGreaterThan(1_000);
    expect(text.trim().split('\n')).toHaveLength(16);
    expect(text).toMatch(/done\n$/);
  });

  it('defaults: never 0, read from the config (VOXGATE_HTTP_REQUEST_TIMEOUT_MS)', async () => {
    expect(loadConfig({ env: {} }).http).toMatchObject({ requestTimeoutMs: 120_000, headersTimeoutMs: 30_000 });
    expect(loadConfig({ env: { VOXGATE_HTTP_REQUEST_TIMEOUT_MS: '5000' } }).http.requestTimeoutMs).toBe(5_000);
    const http = createHttpServer(discardLogger());
    expect([http.server.requestTimeout, http.server.headersTimeout]).toEqual([120_000, 30_000]);
  });

  it('in the gateway: a WebSocket device and a long speech response outlive a short request timeout', async () => {
    const g = await startTestGateway(tempDir(), { http: { requestTimeoutMs: 500, headersTimeoutMs: 250 }, tts: new FakeTts({ delayMs: 300 }) });
    cleanup.push(() => g.stop());
    const sim = new SimDevice({ transport: 'websocket', url: g.wsUrl, deviceId: g.device.id, token: g.device.token, codec: 'pcm16' });
    await sim.connect();
    cleanup.push(() => sim.close());

    const started = Date.now();
    const response = await fetch(`${g.baseUrl}/v1/audio/speech`, {
      method: 'POST',
      headers: { ...g.auth, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'tts-1', voice: 'tone', response_format: 'pcm', input: 'One. Two. Three. Four. Five.' }),
    });
    expect(response.status).toBe(200);
    const bytes = (await response.arrayBuffer()).byteLength;
    expect(Date.now() - started).toBeGreaterThan(1_000);
    expect(bytes).toBeGreaterThan(0);

    expect(sim.ready).toBe(true);
    const turn = await sim.typed('still there?');
    expect(turn.stopReason).toBe('done');
  });
});
