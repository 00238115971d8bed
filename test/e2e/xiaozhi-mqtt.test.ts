/**
 * Issue 12 item 6, end to end: stock xiaozhi firmware over MQTT + UDP (VOXGATE_XIAOZHI_TRANSPORT=mqtt)
 * against the real gateway (real brain through groq-sdk to the loopback fake Groq, sherpa
 * fixture recognizer, espeak-ng, real Silero VAD). The simulator boots through the OTA URL, is
 * paired with the code it shows, logs in to the embedded broker with the `mqtt` block it was
 * given (it never subscribes: every gateway message is pushed onto its connection), and talks
 * over encrypted UDP: a turn, an MCP tool call, a barge-in, auto listening; goodbye both ways;
 * the 120 s silence rule (shortened); an external broker falls back to the WebSocket.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { XiaozhiServerMessage } from '../../protocol/xiaozhi/index.ts';
import { startFakeGroqServer, type FakeGroqServer } from '../fakes/fake-groq-server.ts';
import { startMosquitto, voxgateAcl } from '../transport/mosquitto.ts';
import { speechClip } from './audio.ts';
import { disposeGatewaysAfterEach } from './harness.ts';
import { GROQ_TEST_KEY } from './real-brain.ts';
import { closeXiaozhiDevices, MQTT_UDP, passes, startXiaozhiGateway, xiaozhiDevice } from './xiaozhi-harness.ts';

disposeGatewaysAfterEach();
let fake: FakeGroqServer;
beforeEach(async () => {
  fake = await startFakeGroqServer({ apiKey: GROQ_TEST_KEY });
});
afterEach(async () => {
  await closeXiaozhiDevices();
  await fake.close();
});

const LONG_ANSWER = 'Here is a long story about the sea. The waves rolled in all day long. The gulls cried above the harbour. The fishermen mended their nets.';

function record(device: { on(event: 'message', listener: (m: XiaozhiServerMessage) => void): unknown }): XiaozhiServerMessage[] {
  const messages: XiaozhiServerMessage[] = [];
  device.on('message', (m) => messages.push(m));
  return messages;
}

describe('stock firmware over MQTT + UDP', () => {
  it('pairs with the code it shows, logs in with the OTA credentials, talks over encrypted UDP, sets its volume through MCP, and a button press barges in', async () => {
    fake.chat.enqueue(
      { type: 'tool_calls', calls: [{ id: 'call_vol', name: 'self_audio_speaker_set_volume', arguments: { volume: 30 } }] },
      { type: 'text', text: 'Done, the volume is thirty.' },
      { type: 'text', text: LONG_ANSWER },
    );
    const gw = await startXiaozhiGateway(fake, MQTT_UDP);
    expect(gw.gateway.udpPort).toEqual(expect.any(Number));
    expect(gw.log.lines.find((l) => l.msg === 'ready')).toMatchObject({ udpPort: gw.gateway.udpPort });
    const device = xiaozhiDevice(gw, { transport: 'mqtt', pair: false, mcpPageSize: 2 });
    const codes: string[] = [];
    device.on('activation', (code) => {
      codes.push(code);
      setTimeout(() => gw.gateway.store.pairing.claim(code, 'Desk bot'), 300);
    });
    const messages = record(device);

    const hello = await device.connect();
    expect(codes).toHaveLength(1);
    const registered = gw.gateway.store.devices.getByMac(device.identity.mac)!;
    const id = registered.id;
    // The OTA answer: only `mqtt` (MQTT wins in the firmware anyway), a plain port, every key the firmware reads.
    const boot = device.bootResult!;
    expect(boot.transport).toBe('mqtt');
    expect(boot.answer.websocket).toBeUndefined();
    expect(boot.mqtt).toEqual({
      endpoint: `127.0.0.1:${gw.gateway.mqttPort}`,
      client_id: `voxgate-xiaozhi-${id}`,
      username: `xiaozhi:${id}`,
      password: expect.any(String),
      publish_topic: `xiaozhi/${id}/up`,
      keepalive: 240,
    });
    expect(gw.gateway.store.devices.verify(id, boot.mqtt!.password)).toBe(true);
    // The server hello: transport udp, and a udp block with a 16-byte key and a nonce routing the session.
    expect(hello).toEqual({ type: 'hello', transport: 'udp', session_id: expect.any(String), audio_params: { format: 'opus', sample_rate: 24000, channels: 1, frame_duration: 60 } });
    const udp = device.mqttChannel!.udpParams!;
    expect(udp).toMatchObject({ server: '127.0.0.1', port: gw.gateway.udpPort });
    expect(udp.key).toHaveLength(16);
    expect([...udp.nonce.subarray(0, 4), ...udp.nonce.subarray(8)]).toEqual([1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(udp.nonce.readUInt32BE(4)).not.toBe(0);
    expect(gw.gateway.sessions.connectedDevices()).toEqual([expect.objectContaining({ deviceId: id, transport: 'mqtt' })]);
    await passes(() => expect(device.mcp.methods).toEqual(['initialize', 'tools/list', 'tools/list']));

    const first = await device.talk(await speechClip(1.5), { speed: 2 });
    expect(first.errors).toEqual([]);
    expect(first).toMatchObject({ stopReason: 'done', sentences: ['Done, the volume is thirty.'] });
    expect(first.final).toBeTruthy();
    expect(first.replyAudio.samples.length / first.replyAudio.sampleRate).toBeGreaterThan(0.5);
    expect(device.mcp.calls).toEqual([{ name: 'self.audio_speaker.set_volume', arguments: { volume: 30 } }]);
    expect(device.deviceState.volume).toBe(30);
    expect(fake.chat.requests[1]!.body.messages.at(-1)).toMatchObject({ role: 'tool', tool_call_id: 'call_vol', content: 'true' });
    const flow = messages.filter((m) => m.type !== 'mcp').map((m) => (m.type === 'tts' ? `tts:${m.state}` : m.type));
    expect(flow).toEqual(['hello', 'stt', 'tts:start', 'llm', 'tts:sentence_start', 'tts:stop']);

    const second = await device.talk(await speechClip(1.5, 4), { speed: 2, abortAfterMs: 400 });
    expect(second.errors).toEqual([]);
    expect(second.stopReason).toBe('aborted');
    expect(second.timings.abortToStopMs!).toBeLessThan(1_000);
    expect(second.audioPacketsAfterAbort).toBeLessThanOrEqual(2);
    expect(device.strayAudio).toBe(0);
    const stored = await gw.waitForTurn(id, (r) => r.outcome === 'aborted');
    expect(stored.reply.length).toBeLessThan(LONG_ANSWER.length);
    // Every datagram passed the firmware's checks, both ways; none was dropped by the gateway.
    const stats = device.mqttChannel!.udpStats;
    expect(stats.received).toBeGreaterThan(10);
    expect(stats.dropped).toBe(0);
    expect(gw.lines(id, 'udp datagram dropped')).toEqual([]);
    expect(device.issues).toEqual([]);
  });

  it('auto listening: the VAD ends the turn (DTX silence packets pass as audio), and the device listens again', async () => {
    fake.chat.enqueue({ type: 'text', text: 'First answer.' }, { type: 'text', text: 'Second answer.' });
    const gw = await startXiaozhiGateway(fake, MQTT_UDP);
    const device = xiaozhiDevice(gw, { transport: 'mqtt' });
    await device.connect();
    const first = await device.talk(await speechClip(1.5), { mode: 'auto' });
    expect(first).toMatchObject({ stopReason: 'done', sentences: ['First answer.'], errors: [] });
    const second = await device.talk(await speechClip(1.5, 5), { mode: 'auto' });
    expect(second).toMatchObject({ stopReason: 'done', sentences: ['Second answer.'] });
    expect(gw.lines(undefined, 'udp datagram dropped')).toEqual([]);
    expect(device.issues).toEqual([]);
  });

  it('goodbye both ways: the device closes its audio channel and opens a new one on the same connection; the gateway says goodbye after the silence timeout', async () => {
    fake.chat.setDefault({ type: 'text', text: 'Hello again.' });
    const gw = await startXiaozhiGateway(fake, { ...MQTT_UDP, 'xiaozhi.idleCloseMs': 1_500 });
    const device = xiaozhiDevice(gw, { transport: 'mqtt' });
    const hello = await device.connect();
    const id = gw.gateway.store.devices.getByMac(device.identity.mac)!.id;
    const firstNonce = device.mqttChannel!.udpParams!.nonce;

    // Device → gateway: goodbye ends the session; the MQTT connection stays.
    await device.closeAudioChannel();
    await passes(() => expect(gw.gateway.sessions.connectedDevices()).toEqual([]));
    expect(gw.lines(id, 'xiaozhi audio channel closed').map((l) => l.reason)).toEqual(['goodbye']);
    expect(gw.lines(id, 'xiaozhi mqtt disconnected')).toEqual([]);
    const again = await device.openAudioChannel();
    expect(again.session_id).not.toBe(hello.session_id);
    expect(device.mqttChannel!.udpParams!.nonce.equals(firstNonce)).toBe(false); // a new ssrc
    expect((await device.talk(await speechClip(1.5), { speed: 2 })).stopReason).toBe('done');

    // Gateway → device: after idleCloseMs with nothing either way it says goodbye for this session.
    const goodbye = new Promise<string>((resolve) => device.once('goodbye', resolve));
    expect(await goodbye).toBe('goodbye from the gateway');
    expect(device.ready).toBe(false);
    await passes(() => expect(gw.gateway.sessions.connectedDevices()).toEqual([]));
    const third = await device.openAudioChannel();
    expect(third.session_id).not.toBe(again.session_id);
    const typed = await device.typed('are you there');
    expect(typed.stopReason).toBe('done');
    // The wake-word audio before `listen detect` told the gateway where to send the reply.
    expect(typed.replyAudio.samples.length).toBeGreaterThan(0);
    expect(gw.lines(id, 'xiaozhi mqtt disconnected')).toEqual([]);
    expect(device.issues).toEqual([]);
  });

  it('the gateway stopping says goodbye to the device', async () => {
    const gw = await startXiaozhiGateway(fake, MQTT_UDP);
    const device = xiaozhiDevice(gw, { transport: 'mqtt' });
    await device.connect();
    const goodbye = new Promise<string>((resolve) => device.once('goodbye', resolve));
    await gw.gateway.stop();
    expect(await goodbye).toBe('goodbye from the gateway');
  });

  it('with an external broker MQTT + UDP is unavailable: said at start, and the OTA answer gives the WebSocket', async () => {
    const broker = await startMosquitto({ gateway: 'gateway-secret', observer: 'observer-secret' }, voxgateAcl('gateway', 'observer'));
    try {
      const gw = await startXiaozhiGateway(fake, { ...MQTT_UDP, mqttUrl: broker.url, mqttUsername: 'gateway', mqttPassword: 'gateway-secret' });
      expect(gw.gateway.udpPort).toBeNull();
      expect(gw.log.matching('needs the embedded broker')).toHaveLength(1);
      const device = xiaozhiDevice(gw);
      await device.connect();
      expect(device.bootResult).toMatchObject({ transport: 'websocket', websocket: { url: expect.stringMatching(/^ws:/) } });
      expect(device.bootResult!.answer.mqtt).toBeUndefined();
      expect((await device.typed('hello')).stopReason).toBe('done');
      await closeXiaozhiDevices();
      await gw.dispose();
    } finally {
      await broker.stop();
    }
  });
});
