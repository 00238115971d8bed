/**
 * The OTA bootstrap as stock xiaozhi firmware meets it (main/ota.cc): the real HTTP server
 * and store on loopback, requests shaped like the firmware's (headers, system-info body).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpServer, type HttpServer } from '../../gateway/http/http-server.ts';
import { openStore, type Store } from '../../gateway/store/index.ts';
import { utcOffsetMinutes, websocketOffer } from '../../gateway/xiaozhi/ota-answer.ts';
import { registerOtaRoutes } from '../../gateway/xiaozhi/ota-route.ts';
import { XiaozhiSchema } from '../../gateway/xiaozhi/xiaozhi-config.ts';
import { createCaptureLogger } from '../fakes/capture-logger.ts';
import { useTempDirs } from '../helpers/temp-dir.ts';
import { firmwareHeaders, systemInfo } from '../../device-sim/xiaozhi/firmware-identity.ts';

const tempDir = useTempDirs('ota');
const MAC = '24:0a:c4:00:11:22';
const CLIENT = 'c0ffee00-1234-4abc-8def-001122334455';
const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);

interface World {
  http: HttpServer;
  store: Store;
  base: string;
}
const worlds: World[] = [];
afterEach(async () => {
  for (const w of worlds.splice(0)) {
    await w.http.close();
    w.store.close();
  }
});

async function world(config: Record<string, unknown> = {}): Promise<World> {
  const store = openStore(tempDir(), { now: () => NOW });
  const http = createHttpServer(createCaptureLogger().logger);
  const xiaozhi = XiaozhiSchema.parse(config);
  registerOtaRoutes(http, {
    devices: store.devices,
    pairing: store.pairing,
    config: xiaozhi,
    timeZone: 'Europe/Paris',
    transportOffer: websocketOffer(xiaozhi.websocketVersion),
    logger: createCaptureLogger().logger,
    now: () => NOW,
  });
  const port = await http.listen('127.0.0.1', 0);
  const w = { http, store, base: `http://127.0.0.1:${port}` };
  worlds.push(w);
  return w;
}

function ota(w: World, init: { path?: string; method?: string; headers?: Record<string, string>; body?: string } = {}) {
  return fetch(`${w.base}${init.path ?? '/xiaozhi/ota/'}`, {
    method: init.method ?? 'POST',
    headers: init.headers ?? firmwareHeaders(MAC, CLIENT),
    body: init.method === 'GET' ? undefined : (init.body ?? JSON.stringify(systemInfo(MAC, CLIENT))),
  });
}

describe('OTA bootstrap', () => {
  it('gives an unknown device a pairing code and no credentials; activate answers 202, then 200 once claimed', async () => {
    const w = await world();
    const response = await ota(w);
    expect(response.status).toBe(200);
    const answer = (await response.json()) as Record<string, any>;
    expect(answer.websocket).toBeUndefined();
    expect(answer.mqtt).toBeUndefined();
    expect(answer.activation).toMatchObject({ code: expect.stringMatching(/^\d{6}$/), challenge: expect.any(String), timeout_ms: 600_000 });
    expect(answer.activation.message).toContain(answer.activation.code);
    expect(answer.server_time).toEqual({ timestamp: NOW, timezone_offset: 60 });
    expect(answer.firmware).toEqual({ version: '2.2.6', url: '' });

    // The firmware asks again (every boot, every retry): same code while it is valid.
    expect(((await (await ota(w)).json()) as any).activation.code).toBe(answer.activation.code);

    const activate = () => fetch(`${w.base}/xiaozhi/ota/activate`, { method: 'POST', headers: firmwareHeaders(MAC, CLIENT), body: '{}' });
    expect((await activate()).status).toBe(202);
    w.store.pairing.claim(answer.activation.code);
    expect((await activate()).status).toBe(200);

    const after = (await (await ota(w)).json()) as Record<string, any>;
    expect(after.activation).toBeUndefined();
    expect(after.websocket).toEqual({ url: `ws://127.0.0.1:${new URL(w.base).port}/xiaozhi/v1/`, token: expect.any(String), version: 1 });
    expect(w.store.devices.verify('xiaozhi-240ac4001122', after.websocket.token)).toBe(true);
  });

  it('hands a registered device a fresh token at every request (the previous one stops working)', async () => {
    const w = await world({ websocketVersion: 3, publicUrl: 'https://voxgate.example:8443' });
    w.store.devices.add('desk', 'Desk', { mac: MAC });
    const first = ((await (await ota(w, { path: '/xiaozhi/ota' })).json()) as any).websocket;
    expect(first).toEqual({ url: 'wss://voxgate.example:8443/xiaozhi/v1/', token: expect.any(String), version: 3 });
    const second = ((await (await ota(w, { method: 'GET' })).json()) as any).websocket;
    expect(second.token).not.toBe(first.token);
    expect(w.store.devices.verify('desk', first.token)).toBe(false);
    expect(w.store.devices.verify('desk', second.token)).toBe(true);
  });

  it('binds a pre-registered device to its first Client-Id; another Client-Id with that MAC must pair', async () => {
    const w = await world();
    w.store.devices.add('desk', 'Desk', { mac: MAC });
    expect(((await (await ota(w)).json()) as any).websocket.token).toBeTruthy();
    const spoofed = (await (await ota(w, { headers: firmwareHeaders(MAC, 'someone-else') })).json()) as any;
    expect(spoofed.websocket).toBeUndefined();
    expect(spoofed.activation.code).toMatch(/^\d{6}$/);
  });

  it('with pairing off, an unknown device is refused with a JSON 403', async () => {
    const w = await world({ pairing: 'false' });
    const response = await ota(w);
    expect(response.status).toBe(403);
    expect(((await response.json()) as any).error).toMatchObject({ code: 'forbidden', message: expect.stringContaining('voxgate device add') });
  });

  it('refuses a request without Device-Id or Client-Id, with a Device-Id that is not a MAC, or with a malformed body (4xx JSON)', async () => {
    const w = await world();
    const { ['Device-Id']: _d, ...noDevice } = firmwareHeaders(MAC, CLIENT);
    const { ['Client-Id']: _c, ...noClient } = firmwareHeaders(MAC, CLIENT);
    const cases: Array<[string, Parameters<typeof ota>[1], RegExp]> = [
      ['no Device-Id', { headers: noDevice }, /missing Device-Id/],
      ['no Client-Id', { headers: noClient }, /missing Client-Id/],
      ['Device-Id not a MAC', { headers: firmwareHeaders('kitchen-1', CLIENT) }, /must be the device MAC/],
      ['not JSON', { body: '{"version":2,' }, /not valid JSON/],
      ['not an object', { body: '[1,2]' }, /must be a JSON object/],
      ['wrong type', { body: JSON.stringify({ application: { version: 7 } }) }, /application\.version/],
    ];
    for (const [name, init, message] of cases) {
      const response = await ota(w, init);
      expect(response.status, name).toBe(400);
      expect(((await response.json()) as any).error.message, name).toMatch(message);
    }
    const activate = await fetch(`${w.base}/xiaozhi/ota/activate`, { method: 'POST', headers: noDevice, body: '{}' });
    expect(activate.status).toBe(400);
    // Nothing was registered or issued along the way.
    expect(w.store.devices.list()).toEqual([]);
    // An activation for a device with no code pending is a 404.
    expect((await fetch(`${w.base}/xiaozhi/ota/activate`, { method: 'POST', headers: firmwareHeaders(MAC, CLIENT), body: '{}' })).status).toBe(404);
  });

  it('rate limits requests per address', async () => {
    const w = await world({ otaRequestsPerMinute: 3 });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await ota(w)).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
  });

  it('computes the zone offset the firmware adds to the timestamp', () => {
    expect(utcOffsetMinutes(new Date(Date.UTC(2026, 6, 1)), 'Europe/Paris')).toBe(120);
    expect(utcOffsetMinutes(new Date(Date.UTC(2026, 0, 1)), 'America/New_York')).toBe(-300);
    expect(utcOffsetMinutes(new Date(Date.UTC(2026, 0, 1)), 'Asia/Kolkata')).toBe(330);
    expect(utcOffsetMinutes(new Date(Date.UTC(2026, 0, 1)), 'UTC')).toBe(0);
  });
});
