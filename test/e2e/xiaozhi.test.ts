/**
 * Issue 12, end to end: the simulator plays stock xiaozhi-esp32 firmware against the real
 * gateway (real brain through groq-sdk to the loopback fake Groq, sherpa fixture recognizer,
 * espeak-ng, real Silero VAD). For each binary protocol version: it boots through the OTA URL,
 * is paired with the code it shows, talks, the model sets its volume through its MCP tool, and
 * a button press barges in. Then the listening modes, wake words, typed text, emotions, and a
 * device added by MAC living as an ordinary device.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { XiaozhiServerMessage } from '../../protocol/xiaozhi/index.ts';
import { startFakeGroqServer, type FakeGroqServer } from '../fakes/fake-groq-server.ts';
import { speechClip } from './audio.ts';
import { watchMainThreadSilero } from './main-thread-silero.ts';
import { disposeGatewaysAfterEach } from './harness.ts';
import { conversationOf, GROQ_TEST_KEY } from './real-brain.ts';
import { closeXiaozhiDevices, passes, startXiaozhiGateway, xiaozhiDevice } from './xiaozhi-harness.ts';

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

describe.each([1, 2, 3] as const)('stock firmware over WebSocket, protocol version %i', (version) => {
  it('pairs with the code it shows, talks, sets its volume through its MCP tool, and a button press barges in', async () => {
    fake.chat.enqueue(
      { type: 'tool_calls', calls: [{ id: 'call_vol', name: 'self_audio_speaker_set_volume', arguments: { volume: 30 } }] },
      { type: 'text', text: 'Done, the volume is thirty.' },
      { type: 'text', text: LONG_ANSWER },
    );
    const gw = await startXiaozhiGateway(fake);
    const device = xiaozhiDevice(gw, { protocolVersion: version, pair: false, mcpPageSize: 2 });
    const codes: string[] = [];
    device.on('activation', (code) => {
      codes.push(code);
      // As a person would, seconds later: the device keeps polling /activate meanwhile.
      setTimeout(() => gw.gateway.store.pairing.claim(code, 'Desk bot'), 300);
    });
    const messages = record(device);

    const hello = await device.connect();
    expect(codes).toHaveLength(1);
    expect(device.bootResult).toMatchObject({ pairedWith: codes[0], websocket: { url: `ws://127.0.0.1:${gw.gateway.httpPort}/xiaozhi/v1/`, version: 1 } });
    expect(hello).toEqual({ type: 'hello', transport: 'websocket', session_id: expect.any(String), audio_params: { format: 'opus', sample_rate: 24000, channels: 1, frame_duration: 60 } });
    const registered = gw.gateway.store.devices.getByMac(device.identity.mac)!;
    expect(registered).toMatchObject({ name: 'Desk bot', mac: device.identity.mac });
    expect(gw.gateway.sessions.connectedDevices()).toEqual([expect.objectContaining({ deviceId: registered.id, transport: 'websocket' })]);
    // initialize, then tools/list page by page (2 tools a page: 3 tools need 2 pages).
    await passes(() => expect(device.mcp.methods).toEqual(['initialize', 'tools/list', 'tools/list']));

    const first = await device.talk(await speechClip(1.5), { speed: 2 });
    expect(first.errors).toEqual([]);
    expect(first).toMatchObject({ stopReason: 'done', sentences: ['Done, the volume is thirty.'] });
    expect(first.final).toBeTruthy();
    expect(first.replyAudio.samples.length / first.replyAudio.sampleRate).toBeGreaterThan(0.5); // espeak-ng at 24 kHz
    // The model was offered the device's tools under valid names beside the gateway's …
    const offered = fake.chat.requests[0]!.body.tools.map((t: { function: { name: string } }) => t.function.name);
    expect(offered).toEqual(expect.arrayContaining(['get_current_datetime', 'self_get_device_status', 'self_audio_speaker_set_volume', 'self_screen_set_brightness']));
    expect(conversationOf(fake.chat.requests[0]!.body)).toEqual([{ role: 'user', content: first.final }]);
    // … its call reached the device under the device's own name, and the result went back to the model.
    expect(device.mcp.calls).toEqual([{ name: 'self.audio_speaker.set_volume', arguments: { volume: 30 } }]);
    expect(device.deviceState.volume).toBe(30);
    expect(fake.chat.requests[1]!.body.messages.at(-1)).toMatchObject({ role: 'tool', tool_call_id: 'call_vol', content: 'true' });
    // xiaozhi's turn: stt, a face, tts start, the sentence, audio, tts stop; no voxgate-only fields.
    const flow = messages.filter((m) => m.type !== 'mcp').map((m) => (m.type === 'tts' ? `tts:${m.state}` : m.type));
    expect(flow).toEqual(['hello', 'stt', 'tts:start', 'llm', 'tts:sentence_start', 'tts:stop']);
    expect(messages.find((m) => m.type === 'llm')).toEqual({ type: 'llm', session_id: hello.session_id, emotion: 'happy' });
    expect(messages.find((m) => m.type === 'tts' && m.state === 'stop')).toEqual({ type: 'tts', session_id: hello.session_id, state: 'stop' });

    const second = await device.talk(await speechClip(1.5, 4), { speed: 2, abortAfterMs: 400 });
    // tts stop came at once, nothing of that reply came after it, no late tts start (the sim records both as issues).
    expect(second.errors).toEqual([]);
    expect(second.stopReason).toBe('aborted');
    expect(second.timings.abortToStopMs!).toBeLessThan(1_000);
    expect(second.audioPacketsAfterAbort).toBeLessThanOrEqual(2); // at most what was already on the wire
    expect(device.strayAudio).toBe(0);
    const stored = await gw.waitForTurn(registered.id, (r) => r.outcome === 'aborted');
    expect(stored.reply.length).toBeLessThan(LONG_ANSWER.length);
    expect(device.issues).toEqual([]);
  });
});

describe('listening modes', () => {
  it('auto: the VAD ends the turn; after tts stop the device listens again and its next utterance is a turn', async () => {
    fake.chat.enqueue({ type: 'text', text: 'First answer.' }, { type: 'text', text: 'Second answer.' });
    const gw = await startXiaozhiGateway(fake);
    const device = xiaozhiDevice(gw);
    const sent: Array<Record<string, unknown>> = [];
    device.on('sent', (m) => sent.push(m));
    await device.connect();
    const first = await device.talk(await speechClip(1.5), { mode: 'auto' });
    expect(first.errors).toEqual([]);
    expect(first).toMatchObject({ stopReason: 'done', sentences: ['First answer.'] });
    // The firmware asks to listen again once its playback drained; the next utterance needs no button.
    await passes(() => expect(sent.filter((m) => m.type === 'listen')).toHaveLength(2));
    const second = await device.talk(await speechClip(1.5, 5), { mode: 'auto' });
    expect(second).toMatchObject({ stopReason: 'done', sentences: ['Second answer.'] });
    // One press at the start; every later `listen start` is the firmware's own after a reply.
    await passes(() => expect(sent.filter((m) => m.type === 'listen').map((m) => `${m.state}:${m.mode}`)).toEqual(['start:auto', 'start:auto', 'start:auto']));
    expect(device.issues).toEqual([]);
  });

  it('realtime: the microphone stays open while the gateway speaks; turns start with speech, heard on a codec worker', async () => {
    fake.chat.enqueue({ type: 'text', text: 'Realtime answer.' });
    const silero = watchMainThreadSilero();
    try {
      const gw = await startXiaozhiGateway(fake);
      const device = xiaozhiDevice(gw);
      await device.connect();
      const detectJobs = gw.gateway.codec.jobs.detect;
      const result = await device.talk(await speechClip(1.5), { mode: 'realtime' });
      expect(result.errors).toEqual([]);
      expect(result).toMatchObject({ stopReason: 'done', sentences: ['Realtime answer.'] });
      expect(gw.lines(undefined, 'realtime listening')).toHaveLength(1);
      // The watching Silero ran on the codec workers, never on the event loop.
      expect(gw.gateway.codec.jobs.detect).toBeGreaterThan(detectJobs);
      expect(silero).toMatchObject({ created: 0, fed: 0 });
    } finally {
      silero.restore();
    }
  });
});

describe('listen detect', () => {
  it('a wake word is acknowledged on screen and starts no turn; other text is a typed turn', async () => {
    fake.chat.enqueue({ type: 'text', text: 'It is sunny.' });
    const gw = await startXiaozhiGateway(fake);
    const device = xiaozhiDevice(gw);
    const messages = record(device);
    const hello = await device.connect();
    await device.send({ session_id: hello.session_id, type: 'listen', state: 'detect', text: 'Hi, ESP' });
    await passes(() => expect(messages.filter((m) => m.type === 'llm')).toEqual([{ type: 'llm', session_id: hello.session_id, emotion: 'happy' }]));
    expect(messages.find((m) => m.type === 'stt')).toMatchObject({ text: 'Hi, ESP' });
    const typed = await device.typed('what is the weather like');
    expect(typed).toMatchObject({ stopReason: 'done', final: 'what is the weather like', sentences: ['It is sunny.'] });
    expect(fake.chat.requests).toHaveLength(1);
    expect(gw.turns.map((t) => t.kind)).toEqual(['text']);
  });
});

describe('a device added by MAC', () => {
  it('needs no code, gets a fresh token at each boot, and is an ordinary device: rotated, removed', async () => {
    fake.chat.setDefault({ type: 'text', text: 'Hello.' });
    const gw = await startXiaozhiGateway(fake);
    const first = xiaozhiDevice(gw, { pair: false });
    gw.gateway.store.devices.add('desk', 'Desk', { mac: first.identity.mac });
    let asked = false;
    first.on('activation', () => (asked = true));
    await first.connect();
    expect(asked).toBe(false);
    expect((await first.typed('hi')).stopReason).toBe('done');
    await first.close();

    // Rotating the token from outside: the next boot fetches the new one.
    gw.gateway.store.devices.rotateToken('desk');
    const again = xiaozhiDevice(gw, { mac: first.identity.mac, pair: false });
    await again.connect();
    expect(again.bootResult!.websocket!.token).not.toBe(first.bootResult!.websocket!.token);
    await again.close();

    // Removed: the device is unknown again and must pair.
    gw.gateway.store.devices.remove('desk');
    const removed = xiaozhiDevice(gw, { mac: first.identity.mac, pair: false, pairTimeoutMs: 500 });
    let code: string | undefined;
    removed.on('activation', (c) => (code = c));
    await expect(removed.connect()).rejects.toThrow(/not paired/);
    expect(code).toMatch(/^\d{6}$/);
  });
});
