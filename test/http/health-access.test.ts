/**
 * /health without an API key tells the status and each part's readiness only; which devices
 * are connected, their states and the engines' details (the local LLM's URL) need a key
 * (issue 11 item 2).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { discardLogger } from '../fakes/capture-logger.ts';
import { SimDevice } from '../../device-sim/index.ts';
import { startGateway, type RunningGateway } from '../../gateway/app.ts';
import { loadConfig } from '../../gateway/config.ts';
import { FakeStt } from '../fakes/fake-stt.ts';
import { FakeTts } from '../fakes/fake-tts.ts';
import { useTempDirs } from '../helpers/temp-dir.ts';

const tempDir = useTempDirs('http-health-access');
const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

/** A local OpenAI-compatible LLM whose URL must not leak (nothing listens there: it is only reported). */
const LOCAL_LLM = 'http://127.0.0.1:9/private-llm/v1';

async function gatewayWithDevice(): Promise<{ gateway: RunningGateway; base: string; key: string }> {
  const config = loadConfig({
    env: {},
    overrides: { dataDir: tempDir(), host: '127.0.0.1', httpPort: 0, mqttPort: 0, 'wyoming.port': 'off', 'llm.providers': 'openai', 'llm.openaiBaseUrl': LOCAL_LLM },
  });
  const gateway = await startGateway(config, { logger: discardLogger(), engines: { stt: new FakeStt(), tts: new FakeTts() } });
  cleanup.push(() => gateway.stop());
  const issued = gateway.store.devices.add('bedroom-7');
  const sim = new SimDevice({ transport: 'websocket', url: `ws://127.0.0.1:${gateway.httpPort}`, deviceId: 'bedroom-7', token: issued.token, codec: 'pcm16' });
  await sim.connect();
  cleanup.push(() => sim.close());
  return { gateway, base: `http://127.0.0.1:${gateway.httpPort}`, key: gateway.store.apiKeys.create('ops').key };
}

describe('GET /health access', () => {
  it('without a key: status and readiness only, no device ids or states, no engine details', async () => {
    const { base } = await gatewayWithDevice();
    const response = await fetch(`${base}/health`);
    expect(response.status).toBe(200);
    const text = await response.text();
    const body = JSON.parse(text) as Record<string, any>;
    expect(Object.keys(body).sort()).toEqual(['broker', 'database', 'details', 'engines', 'status', 'uptime_seconds']);
    expect(body.status).toBe('ok');
    expect(body.broker).toEqual({ name: 'mqtt:embedded', ready: true });
    expect(body.database).toEqual({ name: 'sqlite', ready: true });
    expect(body.engines).toEqual([
      { name: 'fake-stt', ready: true },
      { name: 'fake-tts', ready: true },
      { name: 'llm:openai', ready: true },
    ]);
    for (const secret of ['bedroom-7', 'private-llm', '127.0.0.1:9', 'idle', 'websocket']) expect(text).not.toContain(secret);
  });

  it('with a key: the connected devices and the engines in full; a wrong key is refused', async () => {
    const { base, key } = await gatewayWithDevice();
    const full = (await (await fetch(`${base}/health`, { headers: { authorization: `Bearer ${key}` } })).json()) as Record<string, any>;
    expect(full.devices.list).toEqual([expect.objectContaining({ device_id: 'bedroom-7', transport: 'websocket', state: 'idle' })]);
    expect(full.engines.find((e: { name: string }) => e.name === 'llm:openai').detail).toContain(LOCAL_LLM.replace(/\/$/, ''));

    for (const authorization of ['Bearer vxg_not-a-key', 'Basic dXNlcjpwdw==']) {
      const refused = await fetch(`${base}/health`, { headers: { authorization } });
      expect(refused.status, authorization).toBe(401);
      expect(await refused.text()).not.toContain('bedroom-7');
    }
  });

  it('with its database gone, a key holder still gets an answer: 503 and the public view', async () => {
    const { gateway, base, key } = await gatewayWithDevice();
    gateway.store.close();
    const response = await fetch(`${base}/health`, { headers: { authorization: `Bearer ${key}` } });
    expect(response.status).toBe(503);
    const body = (await response.json()) as Record<string, any>;
    expect(body).toMatchObject({ status: 'down', database: { name: 'sqlite', ready: false } });
    expect(body.devices).toBeUndefined();
  });
});
