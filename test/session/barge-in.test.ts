import { afterEach, describe, expect, it } from 'vitest';
import { fakeTtsDurationMs } from '../fakes/fake-tts.ts';
import { createHarness, isType, pcmPackets, speechSamples } from './harness.ts';

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup) await c();
  cleanup = [];
});

// Three sentences of about 1 s of audio each (20 ms of tone per character).
const LONG_REPLY = [
  'This first sentence is long enough to last one second.',
  'The second sentence is also about one second of audio.',
  'A third sentence that the user should never get to hear.',
];

async function speakingDevice(options: Parameters<typeof createHarness>[0] = {}) {
  const h = createHarness({ responder: { sentences: LONG_REPLY }, ...options });
  cleanup.push(() => h.hub.closeAll());
  const device = h.connect();
  await device.hello({ format: 'pcm16' }, { format: 'pcm16', sample_rate: 16000 });
  device.listen('start', { turn: 1 });
  await device.stream(pcmPackets(speechSamples(1)));
  device.listen('stop', { turn: 1 });
  return { h, device };
}

/** Waits until the second sentence has started playing (its sentence_start and one packet after it). */
async function duringSecondSentence(device: Awaited<ReturnType<typeof speakingDevice>>['device']) {
  await device.link.waitFor(isType('tts', (m) => m.state === 'sentence_start' && m.text === LONG_REPLY[1]));
  const count = device.link.audio.length;
  await device.link.waitForAudio(count + 1);
}

describe('pacing across a whole reply', () => {
  it('reply audio is never more than leadMs ahead of real time', async () => {
    const { h, device } = await speakingDevice({ limits: { leadMs: 300 } });
    await h.recorder.waitForTurns(1);
    const frameMs = 60;
    let playEnd = -Infinity;
    let worst = 0;
    for (const a of device.link.audio) {
      playEnd = Math.max(playEnd, a.at) + frameMs;
      worst = Math.max(worst, playEnd - a.at);
    }
    expect(worst).toBeLessThanOrEqual(300 + 0.5);
    const totalMs = device.link.audio.length * frameMs;
    expect(totalMs).toBeGreaterThanOrEqual(LONG_REPLY.reduce((n, s) => n + fakeTtsDurationMs(s), 0));
    expect(device.link.audio.at(-1)!.at - device.link.audio[0]!.at).toBeGreaterThanOrEqual(totalMs - 300 - frameMs);
  });
});

describe('barge-in', () => {
  it('abort mid-reply: tts stop aborted, no audio after the abort, only the spoken sentences recorded', async () => {
    const { h, device } = await speakingDevice();
    await duringSecondSentence(device);
    const abortAt = performance.now();
    const sentBefore = device.link.audio.length;
    device.control({ session_id: device.sessionId, type: 'abort', reason: 'button' });
    expect(device.messages('tts').at(-1)).toMatchObject({ state: 'stop', reason: 'aborted', turn: 1 });
    const [record] = await h.recorder.waitForTurns(1);
    await new Promise((r) => setTimeout(r, 150)); // longer than a frame: anything still running would have sent by now
    expect(device.link.audio.length).toBe(sentBefore);
    expect(device.link.audio.every((a) => a.at <= abortAt)).toBe(true);
    expect(record).toMatchObject({ outcome: 'aborted', reply: `${LONG_REPLY[0]} ${LONG_REPLY[1]}` });
    expect(device.link.sent.filter((s) => s.message.type === 'tts' && s.message.state === 'stop')).toHaveLength(1);
    // the one AbortController reached the responder, the STT stream and the synthesis of the next sentence
    expect(h.responder.requests[0]!.signal.aborted).toBe(true);
    expect(h.stt.lastStream!.aborted).toBe(true);
    expect(h.tts.requests.find((r) => r.text === LONG_REPLY[2])?.signal.aborted).toBe(true);
    expect(h.eventLog.filter((e) => e.name === 'stateChanged').map((e) => (e.e as { state: string }).state)).toEqual([
      'listening',
      'thinking',
      'speaking',
      'idle',
    ]);
    expect(device.link.violations).toEqual([]);
  });

  it('listen start while speaking aborts the reply and starts the new turn', async () => {
    const { h, device } = await speakingDevice();
    await duringSecondSentence(device);
    const sentBefore = device.link.audio.length;
    device.listen('start', { turn: 2 });
    const stops = device.messages('tts').filter((m) => m.state === 'stop');
    expect(stops).toEqual([expect.objectContaining({ turn: 1, reason: 'aborted' })]);
    const [first] = await h.recorder.waitForTurns(1);
    expect(first).toMatchObject({ turn: 1, outcome: 'aborted', reply: `${LONG_REPLY[0]} ${LONG_REPLY[1]}` });

    h.responder.options.sentences = ['Short answer.'];
    await device.stream(pcmPackets(speechSamples(0.6, 5)));
    device.listen('stop', { turn: 2 });
    const [, second] = await h.recorder.waitForTurns(2);
    expect(second).toMatchObject({ turn: 2, outcome: 'completed', reply: 'Short answer.' });
    const turn1Audio = device.link.audio.filter((a) => a.turn === 1);
    expect(turn1Audio.length).toBe(sentBefore);
    expect(device.link.audio.filter((a) => a.turn === 2)[0]!.seq).toBe(0);
    expect(device.messages('tts').filter((m) => m.turn === 2).map((m) => m.state)).toEqual(['start', 'sentence_start', 'stop']);
  });

  it('listen detect while thinking aborts the pending reply before anything is spoken', async () => {
    const { h, device } = await speakingDevice({ responder: { sentences: LONG_REPLY, firstTokenDelayMs: 5_000 } });
    await device.link.waitFor(isType('stt', (m) => m.final));
    device.control({ session_id: device.sessionId, type: 'listen', state: 'detect', text: 'never mind' });
    const [first] = await h.recorder.waitForTurns(1);
    expect(first).toMatchObject({ turn: 1, outcome: 'aborted', reply: '' });
    expect(device.messages('tts').filter((m) => m.turn === 1)).toEqual([]); // nothing started, so nothing to stop
    expect(h.responder.requests[0]!.signal.aborted).toBe(true);
    expect(h.responder.requests[1]!.text).toBe('never mind');
  });

  it('a responder that ignores its signal cannot keep talking after a barge-in', async () => {
    const { h, device } = await speakingDevice({ responder: { sentences: LONG_REPLY, sentenceDelayMs: 100, ignoreSignal: true } });
    await duringSecondSentence(device);
    device.control({ session_id: device.sessionId, type: 'abort' });
    const after = device.link.sent.length;
    const afterAudio = device.link.audio.length;
    await h.recorder.waitForTurns(1);
    await new Promise((r) => setTimeout(r, 400));
    expect(device.link.sent.length).toBe(after);
    expect(device.link.audio.length).toBe(afterAudio);
  });

  it('goodbye mid-reply ends the turn as aborted and closes the session', async () => {
    const { h, device } = await speakingDevice();
    await duringSecondSentence(device);
    device.control({ session_id: device.sessionId, type: 'goodbye', reason: 'sleep' });
    const [record] = await h.recorder.waitForTurns(1);
    expect(record!.outcome).toBe('aborted');
    expect((await device.link.waitForClose()).reason).toContain('goodbye');
    expect(h.hub.connectedDevices()).toEqual([]);
    expect(h.eventLog.some((e) => e.name === 'deviceDisconnected')).toBe(true);
  });

  it('a disconnect while listening aborts the recognizer and records the turn as aborted', async () => {
    const h = createHarness();
    cleanup.push(() => h.hub.closeAll());
    const device = h.connect();
    await device.hello();
    device.listen('start', { turn: 4 });
    await device.stream(pcmPackets(speechSamples(0.5)));
    device.port.disconnected('socket closed');
    const [record] = await h.recorder.waitForTurns(1);
    expect(record).toMatchObject({ turn: 4, outcome: 'aborted', transcript: '' });
    expect(h.stt.lastStream!.aborted).toBe(true);
    expect(device.messages('stt').filter((m) => m.final)).toEqual([]);
    expect(device.link.closed).toBeUndefined(); // already gone: the session does not close it again
    expect(h.hub.connectedDevices()).toEqual([]);
  });
});
