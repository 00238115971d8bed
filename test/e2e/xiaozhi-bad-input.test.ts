/**
 * Bad input from (or pretending to be) stock xiaozhi firmware, against the real gateway: each
 * is refused at the upgrade or answered with the protocol's error, logged once, and neither
 * the gateway nor another device notices. (OTA requests without Device-Id or with a malformed
 * body: test/xiaozhi/ota-route.test.ts; unknown, expired and reused codes: test/store and
 * test/cli.)
 */
import WebSocket from 'ws';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkVersion, clientIdFor } from '../../device-sim/xiaozhi/index.ts';
import { encodeBinaryFrame } from '../../protocol/xiaozhi/index.ts';
import { startFakeGroqServer, type FakeGroqServer } from '../fakes/fake-groq-server.ts';
import { speechClip } from './audio.ts';
import { disposeGatewaysAfterEach, type E2eGateway } from './harness.ts';
import { GROQ_TEST_KEY } from './real-brain.ts';
import { closeXiaozhiDevices, otaUrl, passes, startXiaozhiGateway, uniqueMac, xiaozhiDevice } from './xiaozhi-harness.ts';

disposeGatewaysAfterEach();
let fake: FakeGroqServer;
beforeEach(async () => {
  fake = await startFakeGroqServer({ apiKey: GROQ_TEST_KEY });
});
afterEach(async () => {
  await closeXiaozhiDevices();
  await fake.close();
});

/** The HTTP status of a WebSocket upgrade with these headers (101 when it opened). */
function upgradeStatus(gw: E2eGateway, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${gw.gateway.httpPort}/xiaozhi/v1/`, { headers });
    ws.on('unexpected-response', (_req, res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on('open', () => {
      resolve(101);
      ws.close();
    });
    ws.on('error', (err) => (err.message.includes('Unexpected server response') ? undefined : reject(err)));
  });
}

describe('xiaozhi bad input', () => {
  it('refuses a wrong or missing token, an unknown MAC and an unknown Protocol-Version at the upgrade', async () => {
    const gw = await startXiaozhiGateway(fake);
    const mac = uniqueMac();
    gw.gateway.store.devices.add('known', 'Known', { mac });
    const { websocket } = await checkVersion(otaUrl(gw), { mac, clientId: clientIdFor(mac) });
    const headers = (extra: Record<string, string>) => ({ 'Device-Id': mac, 'Client-Id': clientIdFor(mac), 'Protocol-Version': '1', ...extra });
    expect(await upgradeStatus(gw, headers({ Authorization: `Bearer ${websocket!.token}` }))).toBe(101);
    expect(await upgradeStatus(gw, headers({ Authorization: 'Bearer wrong-token' }))).toBe(401);
    expect(await upgradeStatus(gw, headers({}))).toBe(401);
    expect(await upgradeStatus(gw, headers({ Authorization: `Bearer ${websocket!.token}`, 'Device-Id': uniqueMac() }))).toBe(401);
    expect(await upgradeStatus(gw, headers({ Authorization: `Bearer ${websocket!.token}`, 'Device-Id': 'known' }))).toBe(401);
    expect(await upgradeStatus(gw, headers({ Authorization: `Bearer ${websocket!.token}`, 'Protocol-Version': '4' }))).toBe(400);
    expect(gw.lines(undefined, 'xiaozhi websocket refused: bad credentials').length).toBeGreaterThanOrEqual(4);
  });

  it('bad frames (header size, oversized, Opus garbage) get unsupported_audio once and are dropped; the device and another one still talk', async () => {
    fake.chat.setDefault({ type: 'text', text: 'All good here.' });
    const gw = await startXiaozhiGateway(fake);
    const bad = xiaozhiDevice(gw, { protocolVersion: 2 });
    const good = xiaozhiDevice(gw, { protocolVersion: 3 });
    await bad.connect();
    await good.connect();
    const errors = () => bad.issues.filter((i) => i.kind === 'gateway_error').map((i) => i.message);
    const sessionId = bad.sessionId;

    // The other device talks throughout.
    const goodTurn = good.talk(await speechClip(1.5), { speed: 1 });

    // A v2 header that claims 100 payload bytes on a 10-byte payload, and one too short for its header.
    const lying = encodeBinaryFrame(2, new Uint8Array(10));
    new DataView(lying.buffer).setUint32(12, 100);
    bad.sendRawBinary(lying);
    bad.sendRawBinary(new Uint8Array(7));
    await passes(() => expect(errors()).toEqual([expect.stringMatching(/^unsupported_audio: v2 header says 100 payload bytes, the frame has 10/)]));

    // In a listening turn: a frame over the size limit, then (next turn) Opus garbage.
    await bad.send({ session_id: sessionId, type: 'listen', state: 'start', mode: 'manual' });
    bad.sendAudio(new Uint8Array(5_000));
    await passes(() => expect(errors()).toContainEqual(expect.stringMatching(/unsupported_audio: audio frame of 5000 bytes is over the 4096-byte limit/)));
    await bad.send({ session_id: sessionId, type: 'listen', state: 'stop' });
    await bad.send({ session_id: sessionId, type: 'listen', state: 'start', mode: 'manual' });
    bad.sendAudio(Uint8Array.from({ length: 50 }, (_, i) => (i * 37 + 11) & 255));
    await passes(() => expect(errors()).toContainEqual(expect.stringMatching(/unsupported_audio: not a valid Opus packet/)));
    await bad.send({ session_id: sessionId, type: 'listen', state: 'stop' });

    const after = await bad.typed('are you still there');
    expect(after).toMatchObject({ stopReason: 'done', sentences: ['All good here.'] });
    const other = await goodTurn;
    expect(other).toMatchObject({ stopReason: 'done', errors: [] });
    expect(good.issues).toEqual([]);
    // Logged once per kind, not per frame.
    expect(gw.lines(undefined, 'unreadable frame dropped')).toHaveLength(1);
  });

  it('a frame over the WebSocket limit closes that connection only; the device reconnects', async () => {
    fake.chat.setDefault({ type: 'text', text: 'Still here.' });
    const gw = await startXiaozhiGateway(fake);
    const bad = xiaozhiDevice(gw);
    const good = xiaozhiDevice(gw);
    await bad.connect();
    await good.connect();
    bad.sendRawBinary(new Uint8Array(70 * 1024));
    await passes(() => expect(bad.issues.map((i) => i.message)).toContainEqual(expect.stringMatching(/connection lost: websocket closed \(1009/)));
    expect((await good.typed('hello')).stopReason).toBe('done');
    const again = xiaozhiDevice(gw, { mac: bad.identity.mac });
    await again.connect();
    expect((await again.typed('hello again')).stopReason).toBe('done');
  });

  it('MCP replies with unknown ids or no id are ignored; a tool error and a tool that never answers reach the model, and the reply still comes', async () => {
    fake.chat.enqueue(
      {
        type: 'tool_calls',
        calls: [
          { id: 'c_silent', name: 'self_screen_set_brightness', arguments: { brightness: 10 } },
          { id: 'c_bad', name: 'self_audio_speaker_set_volume', arguments: { volume: 300 } },
        ],
      },
      { type: 'text', text: 'Sorry, that did not work.' },
    );
    const gw = await startXiaozhiGateway(fake, { 'xiaozhi.toolTimeoutMs': 1_000 });
    const device = xiaozhiDevice(gw, { silentTools: ['self.screen.set_brightness'] });
    await device.connect();
    await passes(() => expect(device.mcp.methods).toContain('tools/list'));
    const sid = device.sessionId;
    await device.send({ session_id: sid, type: 'mcp', payload: { jsonrpc: '2.0', id: 999, result: { tools: [] } } });
    await device.send({ session_id: sid, type: 'mcp', payload: { jsonrpc: '2.0', id: 'seven', result: {} } });
    await device.send({ session_id: sid, type: 'mcp', payload: { jsonrpc: '2.0', id: 998, error: { message: 'nobody asked' } } });
    await device.send({ session_id: sid, type: 'mcp', payload: 'not an object' });

    const started = performance.now();
    const result = await device.typed('dim the screen and make it very loud');
    expect(result).toMatchObject({ stopReason: 'done', sentences: ['Sorry, that did not work.'] });
    expect(performance.now() - started).toBeGreaterThanOrEqual(1_000); // it waited for the silent tool, then gave up
    const toolResults = fake.chat.requests[1]!.body.messages.filter((m: { role: string }) => m.role === 'tool');
    expect(toolResults).toEqual([
      expect.objectContaining({ tool_call_id: 'c_silent', content: 'error: the device did not answer tools/call within 1000 ms' }),
      expect.objectContaining({ tool_call_id: 'c_bad', content: 'error: volume must be an integer from 0 to 100' }),
    ]);
    expect(gw.lines(undefined, 'unknown or expired id')).toHaveLength(1);
    expect(gw.lines(undefined, 'mcp message ignored').length + gw.lines(undefined, 'malformed MCP message').length).toBe(2);
    expect(device.issues).toEqual([]);
  });
});
