import { afterEach, describe, expect, it, vi } from 'vitest';
import type { GatewayMessage } from '../../protocol/index.ts';
import { createSessionHub } from '../../gateway/session/session-hub.ts';
import { FakeLink } from '../fakes/fake-link.ts';
import { createHarness, Device, pcmPackets, speechSamples } from './harness.ts';

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup) await c();
  cleanup = [];
});

function harness(options: Parameters<typeof createHarness>[0] = {}) {
  const h = createHarness(options);
  cleanup.push(() => h.hub.closeAll());
  return { h, device: h.connect() };
}

const errors = (sent: GatewayMessage[]) => sent.filter((m): m is Extract<GatewayMessage, { type: 'error' }> => m.type === 'error');

describe('device session: control messages', () => {
  it('anything before hello gets not_ready; audio before hello is dropped', async () => {
    const { h, device } = harness();
    device.control({ type: 'listen', state: 'start' });
    device.control({ type: 'ping', id: 1 });
    device.audio(new Uint8Array(1920));
    expect(errors(device.messages()).map((e) => e.code)).toEqual(['not_ready', 'not_ready']);
    expect(device.messages('pong')).toEqual([]);
    expect(h.stt.streams).toHaveLength(0);
    await device.hello();
    device.control({ type: 'ping', id: 2 });
    expect(device.messages('pong')).toEqual([{ type: 'pong', id: 2 }]);
  });

  it('answers hello with a session id and the reply audio; a repeated hello keeps the id', async () => {
    const { h, device } = harness();
    const id = await device.hello({ format: 'opus', frameMs: 20 });
    expect(device.messages('hello')[0]!.audio_params).toEqual({ format: 'opus', sample_rate: 16000, channels: 1, frame_duration: 20 });
    await device.hello({ format: 'pcm16' }, { format: 'pcm16', sample_rate: 24000 });
    const hellos = device.messages('hello');
    expect(hellos).toHaveLength(2);
    expect(hellos[1]).toMatchObject({ session_id: id, audio_params: { format: 'pcm16', sample_rate: 24000, frame_duration: 60 } });
    expect(h.eventLog.filter((e) => e.name === 'deviceConnected')).toEqual([
      { name: 'deviceConnected', e: { deviceId: 'dev-1', transport: 'websocket', sessionId: id } },
    ]);
    const other = h.connect('dev-2');
    expect(await other.hello()).not.toBe(id);
  });

  it('an unsupported hello gets unsupported_audio and the session stays not ready', async () => {
    const { device } = harness();
    device.control({ type: 'hello', audio_params: { format: 'mp3', sample_rate: 16000 } });
    device.control({ type: 'hello', audio_params: { format: 'opus', sample_rate: 16000, frame_duration: 60 }, reply_audio: { format: 'opus', sample_rate: 44100 } });
    device.control({ type: 'listen', state: 'start' });
    expect(errors(device.messages()).map((e) => [e.code, e.message])).toEqual([
      ['unsupported_audio', 'microphone format "mp3" is not opus or pcm16'],
      ['unsupported_audio', 'reply sample rate 44100 is not 16000 or 24000'],
      ['not_ready', expect.stringContaining('before hello')],
    ]);
    expect(device.messages('hello')).toEqual([]);
  });

  it('closes a connection that never says hello', async () => {
    const { h, device } = harness({ limits: { helloTimeoutMs: 50 } });
    const closed = await device.link.waitForClose(5_000);
    expect(closed.reason).toMatch(/no hello within 50 ms/);
    expect(h.hub.connectedDevices()).toEqual([]);
  });

  it('bad messages get bad_message with the reason every time, logged once per reason', async () => {
    const { h, device } = harness();
    await device.hello();
    for (let i = 0; i < 5; i++) device.control('{not json');
    device.control({ type: 'listen', state: 'sideways' });
    const bad = errors(device.messages());
    expect(bad.map((e) => e.code)).toEqual(Array(6).fill('bad_message'));
    expect(bad[0]!.message).toBe('not valid JSON');
    expect(bad[0]!.session_id).toBe(device.sessionId);
    expect(bad[5]!.message).toContain('listen');
    expect(h.log.matching('bad message')).toHaveLength(2);
  });

  it('a session_id that is not this session’s is a bad_message; an absent one is fine', async () => {
    const { device } = harness();
    await device.hello();
    device.control({ session_id: 'someone-else', type: 'ping', id: 1 });
    device.control({ type: 'ping', id: 2 });
    expect(errors(device.messages())).toMatchObject([{ code: 'bad_message', message: expect.stringContaining('someone-else') }]);
    expect(device.messages('pong')).toEqual([{ type: 'pong', id: 2 }]);
  });

  it('unknown message types are ignored, logged once per type', async () => {
    const { h, device } = harness();
    await device.hello();
    for (let i = 0; i < 3; i++) device.control({ type: 'iot', descriptors: [] });
    device.control({ type: 'mcp', payload: {} });
    expect(device.messages().map((m) => m.type)).toEqual(['hello']);
    expect(h.log.matching('ignoring unknown message type').map((l) => l.type)).toEqual(['iot', 'mcp']);
  });

  it('reset forgets the conversation; status and button go to the event listeners', async () => {
    const { h, device } = harness();
    await device.hello();
    device.control({ session_id: device.sessionId, type: 'reset' });
    device.control({ session_id: device.sessionId, type: 'status', battery: 87, charging: false, rssi: -61 });
    device.control({ session_id: device.sessionId, type: 'button', event: 'double_press' });
    expect(h.responder.resets).toEqual(['dev-1']);
    const events = h.eventLog.filter((e) => ['conversationReset', 'status', 'button'].includes(e.name));
    expect(events).toEqual([
      { name: 'conversationReset', e: { deviceId: 'dev-1' } },
      { name: 'status', e: { deviceId: 'dev-1', battery: 87, charging: false, rssi: -61 } },
      { name: 'button', e: { deviceId: 'dev-1', event: 'double_press' } },
    ]);
    expect(device.messages().map((m) => m.type)).toEqual(['hello']);
  });

  it('a repeated listen start (QoS 1 redelivery) does not restart the turn', async () => {
    const { h, device } = harness();
    await device.hello();
    device.listen('start', { turn: 9 });
    await device.stream(pcmPackets(speechSamples(0.6)));
    device.listen('start', { turn: 9 });
    device.listen('stop', { turn: 9 });
    device.listen('start', { turn: 9 }); // even after the turn moved on
    await h.recorder.waitForTurns(1);
    await new Promise((r) => setTimeout(r, 50));
    expect(h.stt.streams).toHaveLength(1);
    expect(h.recorder.records).toMatchObject([{ turn: 9, outcome: 'completed' }]);
  });

  it('a repeated hello (the device reconnected unseen, e.g. across an external broker restart) ends its turn and takes its turn ids afresh', async () => {
    const { h, device } = harness();
    const id = await device.hello();
    device.listen('start', { turn: 1 });
    await device.stream(pcmPackets(speechSamples(0.6)));
    device.listen('stop', { turn: 1 });
    await h.recorder.waitForTurns(1);
    device.listen('start', { turn: 2 });
    await device.stream(pcmPackets(speechSamples(0.3)));
    // The device lost its connection mid-turn and came back numbering from 1 again.
    expect(await device.hello()).toBe(id);
    await h.recorder.waitForTurns(2);
    device.listen('start', { turn: 1 });
    await device.stream(pcmPackets(speechSamples(0.6)));
    device.listen('stop', { turn: 1 });
    await h.recorder.waitForTurns(3);
    expect(h.stt.streams).toHaveLength(3);
    expect(h.recorder.records).toMatchObject([
      { turn: 1, outcome: 'completed' },
      { turn: 2, outcome: 'aborted' },
      { turn: 1, outcome: 'completed' },
    ]);
  });

  it('a listen stop for no listening turn is ignored', async () => {
    const { h, device } = harness();
    await device.hello();
    device.listen('stop', { turn: 3 });
    device.listen('start', { turn: 4 });
    device.listen('stop', { turn: 3 });
    expect(h.stt.streams).toHaveLength(1);
    expect(device.messages('stt')).toEqual([]);
    device.listen('stop', { turn: 4 });
    await h.recorder.waitForTurns(1);
  });

  it('throwing event listeners and recorder never reach the device', async () => {
    const h = createHarness();
    const hub = createSessionHub({
      ...h.deps,
      events: {
        stateChanged: () => {
          throw new Error('bridge bug');
        },
      },
      recorder: {
        recordTurn: () => {
          throw new Error('disk full');
        },
      },
    });
    cleanup.push(() => hub.closeAll());
    const link = new FakeLink('dev-9');
    const device = new Device(link, hub.openSession(link));
    await device.hello();
    for (let turn = 0; turn < 2; turn++) {
      device.control({ type: 'listen', state: 'detect', text: 'hello there' });
      await link.waitUntil(() => (link.messages('tts').filter((m) => m.state === 'stop').length > turn ? true : undefined), 10_000, 'tts stop');
    }
    await vi.waitFor(() => expect(h.log.matching('turn ended')).toHaveLength(2));
    expect(link.messages('error')).toEqual([]);
    expect(h.log.matching('session event listener threw')).toHaveLength(1);
    expect(h.log.matching('recording the turn failed')).toHaveLength(2);
  });
});
