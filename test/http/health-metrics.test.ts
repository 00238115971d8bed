/** /health, /metrics and /api/devices against a real gateway with fake engines and simulated devices. */
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { pino } from 'pino';
import { SimDevice } from '../../device-sim/index.ts';
import { createHttpServer } from '../../gateway/http/http-server.ts';
import { createGatewayMetrics } from '../../gateway/http/metrics.ts';
import { registerMetricsRoute } from '../../gateway/http/metrics-route.ts';
import { isLoopback } from '../../gateway/http/request-auth.ts';
import { openStore } from '../../gateway/store/index.ts';
import { startGateway } from '../../gateway/app.ts';
import { loadConfig } from '../../gateway/config.ts';
import { FakeStt, fakeWords } from '../fakes/fake-stt.ts';
import { FakeTts } from '../fakes/fake-tts.ts';
import { DEFAULT_FAKE_REPLY } from '../fakes/fake-responder.ts';
import { discardLogger } from '../fakes/capture-logger.ts';
import { sine } from '../audio/signal.ts';
import { useTempDirs } from '../helpers/temp-dir.ts';
import { startTestGateway, type TestGateway, type TestGatewayOptions } from './helpers/test-gateway.ts';

const tempDir = useTempDirs('http-health');
const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function gateway(options: TestGatewayOptions = {}): Promise<TestGateway> {
  const g = await startTestGateway(tempDir(), options);
  cleanup.push(() => g.stop());
  return g;
}

async function device(g: TestGateway, transport: 'websocket' | 'mqtt', id = g.device.id, token = g.device.token): Promise<SimDevice> {
  const url = transport === 'websocket' ? g.wsUrl : `mqtt://127.0.0.1:${g.gateway.mqttPort}`;
  const sim = new SimDevice({ transport, url, deviceId: id, token, codec: 'pcm16' });
  await sim.connect();
  cleanup.push(() => sim.close());
  return sim;
}

async function metricsText(g: TestGateway): Promise<string> {
  const response = await fetch(`${g.baseUrl}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return response.text();
}

function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    const match = /^([a-z_:]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = match[2] ? match[2].split(',') : [];
    if (wanted.every((w) => have.includes(w)) && have.length === wanted.length) return Number(match[3]);
  }
  return undefined;
}

/** Polls until `check` passes: turn records land just after the device's turn ends. */
async function eventually(check: () => Promise<void>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}

describe('GET /health', () => {
  it('reports each part and the connected devices, with an API key', async () => {
    const g = await gateway();
    await device(g, 'websocket');
    const other = g.gateway.store.devices.add('pin-2');
    await device(g, 'mqtt', 'pin-2', other.token);
    // Devices and details need a key since issue 11 (test/http/health-access.test.ts has the public view).
    const response = await fetch(`${g.baseUrl}/health`, { headers: g.auth });
    expect(response.status).toBe(200);
    const health = (await response.json()) as Record<string, any>;
    expect(health.status).toBe('ok');
    expect(health.broker).toMatchObject({ name: 'mqtt:embedded', ready: true });
    expect(health.database).toMatchObject({ name: 'sqlite', ready: true });
    expect(health.engines.map((e: { name: string }) => e.name)).toEqual(['fake-stt', 'fake-tts']);
    expect(health.devices.connected).toBe(2);
    expect(health.devices.by_transport).toEqual({ websocket: 1, mqtt: 1 });
    expect(health.devices.list).toContainEqual(expect.objectContaining({ device_id: 'pin-2', transport: 'mqtt', state: 'idle' }));
    expect(Date.parse(health.devices.list[0].connected_since)).toBeGreaterThan(0);
  });

  it('reports the configured LLM provider: not ready, and why, without GROQ_API_KEY', async () => {
    const config = loadConfig({ env: {}, overrides: { dataDir: tempDir(), host: '127.0.0.1', httpPort: 0, mqttPort: 0, 'wyoming.port': 'off' } });
    // Fake speech engines, but the configured (real) responder and its Groq provider.
    const running = await startGateway(config, { logger: discardLogger(), engines: { stt: new FakeStt(), tts: new FakeTts() } });
    cleanup.push(() => running.stop());
    const auth = { authorization: `Bearer ${running.store.apiKeys.create('health').key}` };
    const health = (await (await fetch(`http://127.0.0.1:${running.httpPort}/health`, { headers: auth })).json()) as Record<string, any>;
    expect(health.status).toBe('degraded');
    expect(health.engines.find((e: { name: string }) => e.name === 'llm:groq')).toMatchObject({ ready: false, detail: expect.stringMatching(/GROQ_API_KEY/) });
  });

  it('is degraded (200) with an engine down, and down (503) without its database', async () => {
    const g = await gateway({ tts: new FakeTts({ fail: true }) });
    const degraded = await fetch(`${g.baseUrl}/health`);
    expect(degraded.status).toBe(200);
    const body = (await degraded.json()) as Record<string, any>;
    expect(body.status).toBe('degraded');
    expect(body.engines.find((e: { name: string }) => e.name === 'fake-tts')).toMatchObject({ ready: false });

    g.gateway.store.close();
    const down = await fetch(`${g.baseUrl}/health`);
    expect(down.status).toBe(503);
    expect(((await down.json()) as { status: string }).status).toBe('down');
  });
});

describe('GET /metrics', () => {
  it('counts devices by transport, turns by outcome, turn stages, errors by code and HTTP requests', async () => {
    const g = await gateway();
    const before = await metricsText(g);
    expect(sample(before, 'voxgate_connected_devices', { transport: 'websocket' })).toBe(0);
    expect(sample(before, 'voxgate_turns_total', { kind: 'audio', outcome: 'completed' })).toBe(0);
    expect(before).toMatch(/^nodejs_eventloop_lag_p99_seconds \S+$/m);
    expect(before).toMatch(/^nodejs_eventloop_lag_seconds \S+$/m);

    const sim = await device(g, 'websocket');
    const result = await sim.talk(sine(300, 16000, 1, 0.3), { speed: 2 });
    expect(result.final).toBe(fakeWords(5));
    expect(result.sentences).toEqual(DEFAULT_FAKE_REPLY);
    expect(result.stopReason).toBe('done');

    // a message before hello on a second socket: the gateway answers not_ready
    const other = g.gateway.store.devices.add('rogue');
    const raw = new WebSocket(`${g.wsUrl}/v1/device?device_id=rogue&token=${encodeURIComponent(other.token)}`);
    cleanup.push(() => raw.close());
    const error = await new Promise<Record<string, unknown>>((resolve, reject) => {
      raw.on('open', () => raw.send(JSON.stringify({ type: 'listen', state: 'start' })));
      raw.on('message', (data) => resolve(JSON.parse(String(data)) as Record<string, unknown>));
      raw.on('error', reject);
    });
    expect(error).toMatchObject({ type: 'error', code: 'not_ready' });
    // and an HTTP error
    expect((await fetch(`${g.baseUrl}/api/voice/voices`)).status).toBe(401);

    await eventually(async () => {
      const text = await metricsText(g);
      expect(sample(text, 'voxgate_turns_total', { kind: 'audio', outcome: 'completed' })).toBe(1);
      expect(sample(text, 'voxgate_connected_devices', { transport: 'websocket' })).toBe(2);
      expect(sample(text, 'voxgate_connected_devices', { transport: 'mqtt' })).toBe(0);
      expect(sample(text, 'voxgate_errors_total', { source: 'device', code: 'not_ready' })).toBe(1);
      expect(sample(text, 'voxgate_errors_total', { source: 'http', code: 'unauthorized' })).toBe(1);
      for (const stage of ['release_to_final', 'release_to_first_token', 'release_to_first_audio']) {
        expect(sample(text, `voxgate_turn_${stage}_seconds_count`, { kind: 'audio' }), stage).toBe(1);
        expect(sample(text, `voxgate_turn_${stage}_seconds_sum`, { kind: 'audio' }), stage).toBeGreaterThanOrEqual(0);
      }
      expect(sample(text, 'voxgate_http_requests_total', { method: 'GET', route: '/api/voice/voices', status: '401' })).toBe(1);
    });
  });

  it('counts preemptive generation: speculations started, committed and discarded by reason', async () => {
    const stt = new FakeStt();
    const g = await gateway({ stt });
    const before = await metricsText(g);
    expect(sample(before, 'voxgate_speculations_started_total')).toBe(0);
    expect(sample(before, 'voxgate_speculations_committed_total')).toBe(0);
    expect(sample(before, 'voxgate_speculations_discarded_total', { reason: 'changed' })).toBe(0);

    const sim = await device(g, 'websocket');
    // Three words, then the button held through a pause (default settings: the speculation starts in it).
    const words = sine(220, 16000, 0.6, 0.3);
    const held = new Float32Array(words.length + 16000);
    held.set(words);
    const committed = await sim.talk(held);
    expect(committed.stopReason).toBe('done');
    // The recognizer hears more at the end than it had said: the speculation is discarded.
    stt.options.transcript = 'turn on the kitchen light';
    const discarded = await sim.talk(held);
    expect(discarded.final).toBe('turn on the kitchen light');

    await eventually(async () => {
      const text = await metricsText(g);
      expect(sample(text, 'voxgate_speculations_started_total')).toBe(2);
      expect(sample(text, 'voxgate_speculations_committed_total')).toBe(1);
      expect(sample(text, 'voxgate_speculations_discarded_total', { reason: 'changed' })).toBe(1);
      expect(sample(text, 'voxgate_speculations_discarded_total', { reason: 'aborted' })).toBe(0);
      expect(sample(text, 'voxgate_turn_release_to_first_token_seconds_count', { kind: 'audio' })).toBe(2);
    });
    const turns = g.gateway.store.turns.listTurns(g.device.id);
    expect(turns.map((t) => t.timings.preempted)).toEqual([false, true]); // newest first
  });

  it('measures the STT real-time factor of HTTP transcriptions', async () => {
    const g = await gateway({ stt: new FakeStt({ finishDelayMs: 100 }) });
    const body = new FormData();
    const { toneWav } = await import('./helpers/audio-files.ts');
    body.append('file', new Blob([toneWav(2)]), 'a.wav');
    expect((await fetch(`${g.baseUrl}/api/voice/transcribe`, { method: 'POST', headers: g.auth, body })).status).toBe(200);
    const text = await metricsText(g);
    expect(sample(text, 'voxgate_stt_real_time_factor_count', { source: 'http' })).toBe(1);
    // at least the 100 ms the fake takes to finish, over 2 s of audio
    expect(sample(text, 'voxgate_stt_real_time_factor_sum', { source: 'http' })).toBeGreaterThanOrEqual(0.05);
  });

  it('is for this machine only unless configured otherwise', async () => {
    const keys = openStore(tempDir());
    cleanup.push(() => keys.close());
    const key = keys.apiKeys.create('prometheus').key;
    const serve = async (access: 'loopback' | 'apikey' | 'open') => {
      const http = createHttpServer(pino({ level: 'silent' }));
      // The test client is on loopback: pretend it is not, as a LAN scraper would be.
      registerMetricsRoute(http, { metrics: createGatewayMetrics(), access, keys: keys.apiKeys, isLocalRequest: () => false });
      const port = await http.listen('127.0.0.1', 0);
      cleanup.push(() => http.close());
      return `http://127.0.0.1:${port}/metrics`;
    };
    const loopbackOnly = await serve('loopback');
    const refused = await fetch(loopbackOnly);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('forbidden');
    expect((await fetch(loopbackOnly, { headers: { authorization: `Bearer ${key}` } })).status).toBe(403);

    const withKey = await serve('apikey');
    expect((await fetch(withKey)).status).toBe(401);
    expect((await fetch(withKey, { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);

    expect((await fetch(await serve('open'))).status).toBe(200);

    expect(['127.0.0.1', '127.8.9.1', '::1', '::ffff:127.0.0.1'].every(isLoopback)).toBe(true);
    expect(['10.0.0.5', '::ffff:192.168.1.2', 'fe80::1', '', undefined].some(isLoopback)).toBe(false);
  });
});

describe('GET /api/devices', () => {
  it('an API key sees every device; a device token sees only its own; with online status and last turn', async () => {
    const g = await gateway();
    const second = g.gateway.store.devices.add('kitchen', 'Kitchen');
    const sim = await device(g, 'websocket');
    const typed = await sim.typed('what time is it');
    expect(typed.sentences).toEqual(DEFAULT_FAKE_REPLY);

    await eventually(async () => {
      const response = await fetch(`${g.baseUrl}/api/devices`, { headers: g.auth });
      expect(response.status).toBe(200);
      const { devices } = (await response.json()) as { devices: Array<Record<string, any>> };
      expect(devices.map((d) => d.id)).toEqual(['console-1', 'kitchen']);
      const mine = devices[0]!;
      expect(mine).toMatchObject({ name: 'Console', online: true, transport: 'websocket', state: 'idle' });
      expect(mine.last_turn).toMatchObject({ kind: 'text', transcript: 'what time is it', reply: DEFAULT_FAKE_REPLY.join(' '), outcome: 'completed' });
      expect(mine.last_turn.timings.releaseToFirstAudioMs).toBeGreaterThanOrEqual(0);
      expect(devices[1]).toMatchObject({ id: 'kitchen', online: false, transport: null, last_turn: null, last_seen_at: null });
    });

    const own = await fetch(`${g.baseUrl}/api/devices`, { headers: { 'device-id': 'kitchen', authorization: `Bearer ${second.token}` } });
    expect(((await own.json()) as { devices: Array<{ id: string }> }).devices.map((d) => d.id)).toEqual(['kitchen']);

    const wrong = await fetch(`${g.baseUrl}/api/devices`, { headers: { 'device-id': 'kitchen', authorization: `Bearer ${g.device.token}` } });
    expect(wrong.status).toBe(401);
    expect((await fetch(`${g.baseUrl}/api/devices`)).status).toBe(401);
  });
});
