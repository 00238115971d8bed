import { afterEach, describe, expect, it } from 'vitest';
import type { GatewayMessage } from '../../protocol/index.ts';
import { createOpusDecoder } from '../../audio/opus.ts';
import { float32ToInt16, int16ToFloat32 } from '../../audio/pcm16.ts';
import { PARTIAL_MIN_INTERVAL_MS } from '../../gateway/session/turn-listener.ts';
import { dominantFrequency, snrDb } from '../audio/signal.ts';
import { fakeWords } from '../fakes/fake-stt.ts';
import { fakeTtsDurationMs } from '../fakes/fake-tts.ts';
import { createHarness, isType, opusPackets, pcmPackets, silenceSamples, speechSamples, type Device } from './harness.ts';

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup) await c();
  cleanup = [];
});

function harness(options: Parameters<typeof createHarness>[0] = {}) {
  const h = createHarness(options);
  cleanup.push(() => h.hub.closeAll());
  return h;
}

/** What the device was sent, as short names; partial transcripts left out. */
const kinds = (device: Device) =>
  device.link.sent
    .map(({ message: m }) =>
      m.type === 'stt' ? `stt:${m.final ? 'final' : 'partial'}` : m.type === 'tts' ? `tts:${m.state}` : m.type === 'error' ? `error:${m.code}` : m.type,
    )
    .filter((k) => k !== 'stt:partial');

describe('a whole push-to-talk turn', () => {
  it('hello → partials → final → tts start, sentences, paced opus audio → tts stop, recorded with timings', async () => {
    const reply = ['Sure thing.', 'The kitchen light is on now.'];
    const h = harness({ responder: { sentences: reply, firstTokenDelayMs: 30, sentenceDelayMs: 20 } });
    const device = h.connect();
    const sessionId = await device.hello({ format: 'pcm16', frameMs: 60 }, { format: 'opus', sample_rate: 24000 });
    expect(sessionId).toMatch(/^[0-9a-f-]{36}$/);
    const hello = device.messages('hello')[0]!;
    expect(hello).toMatchObject({ transport: 'websocket', version: 1, audio_params: { format: 'opus', sample_rate: 24000, channels: 1, frame_duration: 60 } });

    device.listen('start', { mode: 'manual', turn: 7 });
    const packets = pcmPackets(speechSamples(2.4));
    // about 3× real time, so the recognizer's partials spread over several throttle periods
    await device.stream(packets, { perTick: 1, gapMs: 20 });
    device.listen('stop', { turn: 7, frames: packets.length });
    await device.link.waitFor(isType('tts', (m) => m.state === 'stop'));
    const [record] = await h.recorder.waitForTurns(1);

    const final = device.messages('stt').find((m) => m.final)!;
    expect(final.text).toBe(h.stt.lastStream!.samples().length > 0 ? fakeWords(final.text.split(' ').length) : '');
    expect(final.text.split(' ').length).toBeGreaterThanOrEqual(5); // real speech: most 200 ms blocks are voiced

    // partials: only when the text changed, never faster than every 200 ms, all before the final
    const partials = device.link.sent.filter((s) => s.message.type === 'stt' && !s.message.final);
    expect(partials.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < partials.length; i++) {
      expect((partials[i]!.message as { text: string }).text).not.toBe((partials[i - 1]!.message as { text: string }).text);
      expect(partials[i]!.at - partials[i - 1]!.at).toBeGreaterThanOrEqual(PARTIAL_MIN_INTERVAL_MS - 0.5); // sub-ms: the fake link stamps just after the send
    }

    expect(kinds(device)).toEqual([
      'hello',
      'stt:final',
      'tts:start',
      'tts:sentence_start',
      'tts:sentence_start',
      'tts:stop',
    ]);
    expect(device.messages('tts').filter((m) => m.state === 'sentence_start').map((m) => (m as { text: string }).text)).toEqual(reply);
    for (const m of device.link.sent.map((s) => s.message)) {
      if (m.type !== 'hello') expect(m).toMatchObject({ session_id: sessionId, turn: 7 });
    }
    expect(device.messages('tts').at(-1)).toMatchObject({ state: 'stop', reason: 'done' });

    // reply audio: turn 7, seq 0.., 60 ms opus frames of the 440 Hz tone, covering both sentences
    const audio = device.link.audio;
    expect(audio.map((a) => a.seq)).toEqual(audio.map((_, i) => i));
    expect(new Set(audio.map((a) => a.turn))).toEqual(new Set([7]));
    const dec = createOpusDecoder(24000);
    const pcm = int16ToFloat32(Int16Array.from(audio.flatMap((a) => Array.from(dec.decode(a.packet)))));
    expect(pcm.length).toBe(audio.length * 1440);
    const spokenMs = reply.reduce((n, s) => n + fakeTtsDurationMs(s), 0);
    expect(audio.length * 60).toBeGreaterThanOrEqual(spokenMs);
    expect(audio.length * 60).toBeLessThanOrEqual(spokenMs + reply.length * 60); // at most one padded frame per sentence
    expect(dominantFrequency(pcm, 24000, [330, 440, 550])).toBe(440);
    // sentence_start of the 2nd sentence comes after the 1st sentence's audio was sent
    const secondStart = device.link.sent.find((s) => s.message.type === 'tts' && s.message.state === 'sentence_start' && s.message.text === reply[1])!;
    expect(audio.filter((a) => a.at <= secondStart.at).length).toBe(Math.ceil((fakeTtsDurationMs(reply[0]!) * 24) / 1440));

    expect(record).toMatchObject({
      deviceId: 'dev-1',
      turn: 7,
      kind: 'audio',
      transcript: final.text,
      reply: reply.join(' '),
      outcome: 'completed',
    });
    expect(record!.errorCode).toBeUndefined();
    const t = record!.timings;
    for (const key of ['releaseToFinalMs', 'finalToFirstTokenMs', 'firstTokenToFirstSentenceMs', 'firstSentenceToFirstAudioMs', 'releaseToFirstAudioMs', 'totalMs'] as const) {
      expect(t[key], key).toBeGreaterThanOrEqual(0);
    }
    expect(t.finalToFirstTokenMs).toBeGreaterThanOrEqual(25); // the responder's 30 ms before its first token
    expect(t.firstTokenToFirstSentenceMs).toBeGreaterThanOrEqual(15);
    expect(t.releaseToFirstAudioMs).toBeGreaterThanOrEqual(t.releaseToFinalMs! + t.finalToFirstTokenMs!);
    expect(t.totalMs).toBeGreaterThanOrEqual(spokenMs - 400); // paced: the reply cannot finish before its audio, minus the lead
    expect(t.audioMs).toBe(packets.length * 60);
    expect(h.responder.requests[0]).toMatchObject({ deviceId: 'dev-1', text: final.text });

    const ended = h.log.matching('turn ended');
    expect(ended).toHaveLength(1);
    expect(ended[0]).toMatchObject({ device: 'dev-1', turn: 7, outcome: 'completed', timings: t });
    expect(h.log.lines.filter((l) => l.level >= 30 && JSON.stringify(l).includes(final.text))).toEqual([]); // transcripts only at debug
    expect(h.log.lines.some((l) => l.level === 20 && l.transcript === final.text)).toBe(true);
    const states = h.eventLog.filter((e) => e.name === 'stateChanged').map((e) => (e.e as { state: string }).state);
    expect(states).toEqual(['listening', 'thinking', 'speaking', 'idle']);
    expect(h.eventLog.find((e) => e.name === 'transcript')?.e).toEqual({ deviceId: 'dev-1', turn: 7, text: final.text });
    expect(h.eventLog.find((e) => e.name === 'reply')?.e).toEqual({ deviceId: 'dev-1', turn: 7, text: reply.join(' ') });
    expect(device.link.violations).toEqual([]);
  });

  it('pcm16 microphone audio reaches the recognizer bit-exact', async () => {
    const h = harness();
    const device = h.connect();
    await device.hello({ format: 'pcm16', frameMs: 20 });
    const source = speechSamples(1.5, 10);
    device.listen('start');
    await device.stream(pcmPackets(source, 20));
    device.listen('stop');
    await h.recorder.waitForTurns(1);
    const received = float32ToInt16(h.stt.lastStream!.samples());
    expect(received.length).toBe(source.length);
    expect(Buffer.from(received.buffer).equals(Buffer.from(source.buffer))).toBe(true);
  });

  it('opus microphone audio reaches the recognizer with SNR above 15 dB', async () => {
    const h = harness();
    const device = h.connect();
    await device.hello({ format: 'opus', frameMs: 60 });
    const source = speechSamples(5, 20);
    const packets = opusPackets(source, 60);
    device.listen('start');
    await device.stream(packets);
    device.listen('stop');
    await h.recorder.waitForTurns(1);
    const received = h.stt.lastStream!.samples();
    expect(received.length).toBe(packets.length * 960);
    expect(snrDb(int16ToFloat32(source), received).snr).toBeGreaterThan(15);
  });

  it('silence gives one empty final and no reply', async () => {
    const h = harness();
    const device = h.connect();
    await device.hello();
    device.listen('start', { turn: 3 });
    await device.stream(pcmPackets(silenceSamples(1)));
    device.listen('stop', { turn: 3 });
    const [record] = await h.recorder.waitForTurns(1);
    expect(kinds(device)).toEqual(['hello', 'stt:final']);
    expect(device.messages('stt')[0]).toMatchObject({ text: '', final: true, turn: 3 });
    expect(record).toMatchObject({ outcome: 'empty', transcript: '', reply: '' });
    expect(h.responder.requests).toHaveLength(0);
  });

  it('a typed turn (listen detect) gets the text as its final and a spoken reply', async () => {
    const h = harness({ responder: { sentences: ['It is noon.'] } });
    const device = h.connect();
    await device.hello();
    device.control({ session_id: device.sessionId, type: 'listen', state: 'detect', text: 'what time is it' });
    const [record] = await h.recorder.waitForTurns(1);
    expect(kinds(device)).toEqual(['hello', 'stt:final', 'tts:start', 'tts:sentence_start', 'tts:stop']);
    expect(device.messages('stt')[0]).toMatchObject({ text: 'what time is it', final: true });
    expect(device.link.audio.length).toBeGreaterThan(0);
    expect(record).toMatchObject({ kind: 'text', transcript: 'what time is it', reply: 'It is noon.', outcome: 'completed' });
    expect(record!.timings.releaseToFinalMs).toBeUndefined();
    expect(record!.timings.releaseToFirstAudioMs).toBeGreaterThanOrEqual(0);
    expect(h.responder.requests[0]!.text).toBe('what time is it');
    expect(h.stt.streams).toHaveLength(0);
  });

  it('gateway-numbered turns count up when the device gives no turn id', async () => {
    const h = harness();
    const device = h.connect();
    await device.hello();
    for (let i = 0; i < 2; i++) {
      device.listen('start');
      await device.stream(pcmPackets(speechSamples(0.6)));
      device.listen('stop');
      await h.recorder.waitForTurns(i + 1);
    }
    expect(h.recorder.records.map((r) => r.turn)).toEqual([1, 2]);
    expect(new Set(device.link.audio.map((a) => a.turn))).toEqual(new Set([1, 2]));
  });

  it('auto mode ends the turn when the end-of-turn detector says so; without a detector it waits for stop', async () => {
    let accepted = 0;
    const h = harness({ turnEnd: { create: () => ({ accept: (s: Float32Array) => (accepted += s.length) >= 16000 }) } });
    const device = h.connect();
    await device.hello();
    device.listen('start', { mode: 'auto', turn: 1 });
    await device.stream(pcmPackets(speechSamples(2)));
    const [record] = await h.recorder.waitForTurns(1);
    expect(record!.timings.audioMs).toBe(1020); // 17 frames of 60 ms: the one that crossed 1 s ended it
    expect(device.messages('stt').filter((m) => m.final)).toHaveLength(1);

    const manual = harness();
    const other = manual.connect();
    await other.hello();
    other.listen('start', { mode: 'auto', turn: 1 });
    await other.stream(pcmPackets(speechSamples(2)));
    await new Promise((r) => setTimeout(r, 100));
    expect(other.messages('stt').filter((m) => m.final)).toHaveLength(0);
    other.listen('stop', { turn: 1 });
    await manual.recorder.waitForTurns(1);
  });
});

describe('failures still give a complete turn', () => {
  async function audioTurn(options: Parameters<typeof createHarness>[0]) {
    const h = harness(options);
    const device = h.connect();
    await device.hello();
    device.listen('start', { turn: 1 });
    await device.stream(pcmPackets(speechSamples(1)));
    device.listen('stop', { turn: 1 });
    const [record] = await h.recorder.waitForTurns(1);
    expect(device.link.violations).toEqual([]);
    return { h, device, record: record! };
  }

  it.each(['create', 'push', 'finish'] as const)('recognizer fails on %s → stt_unavailable, then an empty final, no LLM call', async (fail) => {
    const { h, device, record } = await audioTurn({ stt: { fail } });
    expect(kinds(device)).toEqual(['hello', 'error:stt_unavailable', 'stt:final']);
    expect(device.messages('stt').filter((m) => m.final)).toMatchObject([{ text: '', final: true, turn: 1 }]);
    expect(record).toMatchObject({ outcome: 'error', errorCode: 'stt_unavailable', transcript: '' });
    expect(h.responder.requests).toHaveLength(0);
    expect(h.log.matching('speech recognition failed')).toHaveLength(1);
  });

  it('responder fails before answering → llm_unavailable, a spoken apology, tts stop error', async () => {
    const { device, record } = await audioTurn({ responder: { failAfter: 0 }, apologyText: 'Sorry, no brain today.' });
    expect(kinds(device)).toEqual(['hello', 'stt:final', 'error:llm_unavailable', 'tts:start', 'tts:sentence_start', 'tts:stop']);
    expect(device.messages('tts')[1]).toMatchObject({ text: 'Sorry, no brain today.' });
    expect(device.messages('tts').at(-1)).toMatchObject({ reason: 'error' });
    expect(device.link.audio.length).toBeGreaterThan(0);
    // The apology is spoken but is not the model's answer: it is not stored as the reply (nor remembered).
    expect(record).toMatchObject({ outcome: 'error', errorCode: 'llm_unavailable', reply: '' });
  });

  it('responder fails mid-answer → the sentences so far, then the error and the default apology', async () => {
    const { device, record } = await audioTurn({ responder: { sentences: ['First part.', 'Never said.'], failAfter: 1 } });
    expect(kinds(device)).toEqual(['hello', 'stt:final', 'tts:start', 'tts:sentence_start', 'error:llm_unavailable', 'tts:sentence_start', 'tts:stop']);
    expect(device.messages('tts').filter((m) => m.state === 'sentence_start').map((m) => (m as { text: string }).text)).toEqual([
      'First part.',
      "Sorry, I can't answer right now.",
    ]);
    expect(record).toMatchObject({ outcome: 'error', errorCode: 'llm_unavailable', reply: 'First part.' });
  });

  it('responder and TTS both fail → llm_unavailable and tts stop error, nothing spoken', async () => {
    const { device, record } = await audioTurn({ responder: { failAfter: 0 }, tts: { fail: true } });
    expect(kinds(device)).toEqual(['hello', 'stt:final', 'error:llm_unavailable', 'tts:start', 'tts:stop']);
    expect(device.messages('tts').at(-1)).toMatchObject({ reason: 'error' });
    expect(device.link.audio).toHaveLength(0);
    expect(record).toMatchObject({ outcome: 'error', errorCode: 'llm_unavailable', reply: '' });
  });

  it('TTS fails on the second sentence → tts_unavailable, tts stop error, the first sentence recorded', async () => {
    const { h, device, record } = await audioTurn({
      responder: { sentences: ['Fine here.', 'This one breaks.', 'Never reached.'] },
      tts: { fail: (text) => text === 'This one breaks.' },
    });
    expect(kinds(device)).toEqual(['hello', 'stt:final', 'tts:start', 'tts:sentence_start', 'error:tts_unavailable', 'tts:stop']);
    expect(device.messages('tts').at(-1)).toMatchObject({ reason: 'error' });
    expect(record).toMatchObject({ outcome: 'error', errorCode: 'tts_unavailable', reply: 'Fine here.' });
    expect(h.responder.requests[0]!.signal.aborted).toBe(true);
  });

  it('a ProtocolError keeps its code; an unknown error is internal', async () => {
    const { ProtocolError } = await import('../../protocol/index.ts');
    const busy = await audioTurn({ responder: { failAfter: 0, error: new ProtocolError('busy', 'too many requests') } });
    expect(kinds(busy.device)).toContain('error:busy');
    expect(busy.record.errorCode).toBe('busy');
    const internal = await audioTurn({ tts: { fail: true, error: new TypeError('boom') } });
    expect(kinds(internal.device)).toEqual(['hello', 'stt:final', 'error:internal', 'tts:start', 'tts:stop']);
    expect(internal.record.errorCode).toBe('internal');
    const message = internal.device.messages('error')[0] as Extract<GatewayMessage, { type: 'error' }>;
    expect(message.message).not.toContain('boom'); // internal details stay in the log
  });
});
