/**
 * The adapter between stock xiaozhi firmware and voxgate's DeviceSession, over a recording
 * channel and the session hub on the test fakes: what goes out in xiaozhi's shape, what comes
 * in mapped to voxgate's, abort, wake words, audio gating and the idle close.
 */
import { describe, expect, it } from 'vitest';
import type { TransportName } from '../../gateway/session/link.ts';
import { openXiaozhiSession, normalizeWakeWord, type XiaozhiChannel } from '../../gateway/xiaozhi/xiaozhi-session.ts';
import { passes } from '../e2e/xiaozhi-harness.ts';
import { createHarness, opusPackets, silenceSamples, speechSamples } from '../session/harness.ts';

class RecordingChannel implements XiaozhiChannel {
  readonly json: Array<Record<string, any>> = [];
  /** Each audio packet with the number of JSON messages sent before it. */
  readonly audio: Array<{ afterJson: number }> = [];
  closed: string | undefined;
  constructor(
    readonly deviceId = 'xz-1',
    readonly transport: TransportName = 'websocket',
  ) {}
  sendJson(message: Record<string, unknown>) {
    this.json.push(message);
  }
  sendAudio() {
    this.audio.push({ afterJson: this.json.length });
  }
  close(reason: string) {
    this.closed ??= reason;
  }
  helloFields() {
    return { transport: 'websocket' };
  }
  types() {
    return this.json.map((m) => (m.type === 'tts' ? `tts:${m.state}` : m.type));
  }
}

function open(options: Parameters<typeof createHarness>[0] = {}, idleCloseMs = 60_000) {
  const h = createHarness({ responder: { sentences: ['Hello there!', 'How are you?'] }, ...options });
  const channel = new RecordingChannel();
  const port = openXiaozhiSession(channel, { openSession: h.hub.openSession, wakeWords: ['Hi ESP', '你好小智'], toolTimeoutMs: 1_000, idleCloseMs, logger: h.log.logger });
  const send = (message: Record<string, unknown>) => port.receiveText(JSON.stringify(message));
  const hello = async (features: Record<string, unknown> = {}) => {
    send({ type: 'hello', version: 1, features, transport: 'websocket', audio_params: { format: 'opus', sample_rate: 16000, channels: 1, frame_duration: 60 } });
    await passes(() => expect(channel.json.some((m) => m.type === 'hello')).toBe(true));
    return channel.json.find((m) => m.type === 'hello')!.session_id as string;
  };
  return { h, channel, port, send, hello };
}

describe('xiaozhi session adapter', () => {
  it("answers the hello in xiaozhi's shape: 24 kHz Opus in 60 ms frames", async () => {
    const { channel, hello } = open();
    const sessionId = await hello();
    expect(channel.json[0]).toEqual({ type: 'hello', transport: 'websocket', session_id: sessionId, audio_params: { format: 'opus', sample_rate: 24000, channels: 1, frame_duration: 60 } });
  });

  it('a turn: only the final transcript, a face, tts without voxgate fields, audio only between tts start and stop', async () => {
    const { h, channel, send, port, hello } = open();
    const sessionId = await hello();
    send({ session_id: sessionId, type: 'listen', state: 'start', mode: 'manual' });
    for (const packet of opusPackets(speechSamples(1.2))) port.receiveAudio(packet);
    port.receiveAudio(new Uint8Array(0)); // nothing, not an error
    send({ session_id: sessionId, type: 'listen', state: 'stop' });
    await h.recorder.waitForTurns(1);
    expect(channel.types()).toEqual(['hello', 'stt', 'tts:start', 'llm', 'tts:sentence_start', 'tts:sentence_start', 'tts:stop']);
    for (const message of channel.json.slice(1)) {
      expect(message.session_id).toBe(sessionId);
      for (const field of ['turn', 'final', 'reason']) expect(message).not.toHaveProperty(field);
    }
    expect(channel.json[3]).toEqual({ type: 'llm', session_id: sessionId, emotion: 'happy' });
    const start = channel.types().indexOf('tts:start') + 1;
    const stop = channel.types().indexOf('tts:stop') + 1;
    expect(channel.audio.length).toBeGreaterThan(0);
    for (const packet of channel.audio) expect(packet.afterJson >= start && packet.afterJson < stop).toBe(true);
  });

  it("maps xiaozhi's auto listening to realtime listening (turns start with speech)", async () => {
    const vad = {
      create: () => ({ accept: () => false }),
      createSpeechStart: () => ({ accept: (s: Float32Array) => s.some((v) => Math.abs(v) > 0.05), reset() {}, release() {} }),
    };
    const { h, send, port, hello } = open({ turnEnd: vad });
    const sessionId = await hello();
    send({ session_id: sessionId, type: 'listen', state: 'start', mode: 'auto' });
    for (const packet of opusPackets(silenceSamples(0.6))) port.receiveAudio(packet);
    expect(h.stt.streams).toHaveLength(0);
    expect(h.log.matching('realtime listening')).toHaveLength(1);
    for (const packet of opusPackets(speechSamples(0.6))) port.receiveAudio(packet);
    expect(h.stt.streams).toHaveLength(1);
  });

  it('abort gets tts stop at once: one while a reply plays, one even when nothing plays', async () => {
    const { h, channel, send, hello } = open({ tts: { msPerChar: 80 } });
    const sessionId = await hello();
    send({ session_id: sessionId, type: 'abort' });
    expect(channel.types()).toEqual(['hello', 'tts:stop']);
    send({ session_id: sessionId, type: 'listen', state: 'detect', text: 'tell me something' });
    await passes(() => expect(channel.audio.length).toBeGreaterThan(0));
    send({ session_id: sessionId, type: 'abort', reason: 'wake_word_detected' });
    const stops = channel.types().filter((t) => t === 'tts:stop');
    expect(stops).toHaveLength(2);
    const sentAtAbort = channel.json.length;
    const audioAtAbort = channel.audio.length;
    await h.recorder.waitForTurns(1);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(channel.json.length).toBe(sentAtAbort);
    expect(channel.audio.length).toBe(audioAtAbort);
  });

  it('a wake word is acknowledged (the user line, a happy face) and starts no turn; other text is a typed turn', async () => {
    const { h, channel, send, hello } = open();
    const sessionId = await hello();
    send({ session_id: sessionId, type: 'listen', state: 'detect', text: '你好小智' });
    expect(channel.json.slice(1)).toEqual([
      { session_id: sessionId, type: 'stt', text: '你好小智' },
      { session_id: sessionId, type: 'llm', emotion: 'happy' },
    ]);
    send({ session_id: sessionId, type: 'listen', state: 'detect', text: 'what time is it' });
    await h.recorder.waitForTurns(1);
    expect(h.responder.requests.map((r) => r.text)).toEqual(['what time is it']);
    expect(normalizeWakeWord('Hi, ESP!')).toBe(normalizeWakeWord('hi esp'));
  });

  it('passes errors through, reports an unreadable frame once, ignores mcp before hello', async () => {
    const { channel, port, send, hello } = open();
    send({ type: 'mcp', payload: { jsonrpc: '2.0', id: 1, result: {} } });
    send({ type: 'listen', state: 'start', mode: 'manual' }); // before hello
    expect(channel.json).toEqual([expect.objectContaining({ type: 'error', code: 'not_ready' })]);
    const sessionId = await hello();
    port.receiveInvalid('v3 header says 9 payload bytes, the frame has 2');
    port.receiveInvalid('v3 header says 9 payload bytes, the frame has 3');
    port.receiveText('{not json');
    expect(channel.json.slice(2)).toEqual([
      { session_id: sessionId, type: 'error', code: 'unsupported_audio', message: 'v3 header says 9 payload bytes, the frame has 2' },
      expect.objectContaining({ type: 'error', code: 'bad_message' }),
    ]);
  });

  it('closes a channel the firmware would count as dead: nothing sent to it for the idle time', async () => {
    const { channel, hello } = open({}, 150);
    await hello();
    await passes(() => expect(channel.closed).toBe('idle'), 2_000);
  });
});
