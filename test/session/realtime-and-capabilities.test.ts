/**
 * What the session does for devices that can do more than the plain protocol (stock xiaozhi
 * firmware): an emotion before each reply, the device's own tools offered per turn, a capped
 * reply lead; and realtime listening, where speech starts turns and barges in on replies.
 */
import { describe, expect, it } from 'vitest';
import type { ToolSource } from '../../gateway/brain/types.ts';
import type { SpeechStartDetector, TurnEndDetectorFactory } from '../../gateway/speech/types.ts';
import { FakeLink } from '../fakes/fake-link.ts';
import { createHarness, Device, isType, pcmPackets, silenceSamples, speechSamples } from './harness.ts';

/** Speech is any 60 ms with some energy: deterministic stand-ins for Silero in both roles. */
const loud = (s: Float32Array) => s.some((v) => Math.abs(v) > 0.05);
function vadFactory(counts: { speechStarts: number; released: number }): TurnEndDetectorFactory {
  return {
    // Ends a turn after 300 ms of silence that follows speech.
    create: () => {
      let heard = false;
      let quiet = 0;
      return {
        accept: (s) => {
          if (loud(s)) {
            heard = true;
            quiet = 0;
          } else quiet += s.length;
          return heard && quiet >= 4800;
        },
      };
    },
    createSpeechStart: (): SpeechStartDetector => {
      counts.speechStarts++;
      return { accept: loud, reset: () => {}, release: () => void counts.released++ };
    },
  };
}

function connectWith(h: ReturnType<typeof createHarness>, capabilities: FakeLink['capabilities']): Device {
  const link = new FakeLink('dev-1', 'websocket');
  link.capabilities = capabilities;
  return new Device(link, h.hub.openSession(link));
}

describe('link capabilities', () => {
  it('sends the reply emotion before its first sentence, only to devices that show one', async () => {
    const h = createHarness({ responder: { sentences: ['Sorry, I cannot do that.', 'Maybe later.'] } });
    const device = connectWith(h, { emotion: true });
    await device.hello();
    device.control({ type: 'listen', state: 'detect', text: 'open the door', session_id: device.sessionId });
    await h.recorder.waitForTurns(1);
    const types = device.link.sent.map((s) => s.message.type + ('state' in s.message ? `:${s.message.state}` : ''));
    expect(types).toEqual(['hello', 'stt', 'tts:start', 'llm', 'tts:sentence_start', 'tts:sentence_start', 'tts:stop']);
    expect(device.messages('llm')).toEqual([{ type: 'llm', session_id: device.sessionId, emotion: 'sad' }]);
    expect(device.link.violations).toEqual([]);

    const plain = createHarness();
    const other = plain.connect();
    await other.hello();
    other.control({ type: 'listen', state: 'detect', text: 'hi', session_id: other.sessionId });
    await plain.recorder.waitForTurns(1);
    expect(other.messages('llm')).toEqual([]);
  });

  it("offers the device's own tools to the responder at each turn", async () => {
    const tools: ToolSource = { definitions: () => [], run: async () => 'ok' };
    const h = createHarness();
    const device = connectWith(h, { tools });
    await device.hello();
    device.control({ type: 'listen', state: 'detect', text: 'volume up', session_id: device.sessionId });
    await h.recorder.waitForTurns(1);
    expect(h.responder.requests[0]!.tools).toBe(tools);
    expect(createHarness().responder.requests).toEqual([]);
  });

  it('caps the reply lead at what the device can queue', async () => {
    const h = createHarness({ limits: { leadMs: 5_000 }, tts: { msPerChar: 60 } });
    const device = connectWith(h, { maxLeadMs: 180 });
    await device.hello({}, { format: 'pcm16', sample_rate: 16000 });
    device.control({ type: 'listen', state: 'detect', text: 'talk', session_id: device.sessionId });
    await h.recorder.waitForTurns(1);
    const times = device.link.audio.map((a) => a.at);
    expect(times.length).toBeGreaterThan(20);
    // Packet i (60 ms each) leaves no earlier than (i + 1) × 60 − 180 ms after the first.
    for (const [i, at] of times.entries()) expect(at - times[0]!).toBeGreaterThanOrEqual((i + 1) * 60 - 180 - 25);
  });
});

describe('realtime listening', () => {
  it('starts a turn when speech starts (not at listen start), with the speech before detection included', async () => {
    const counts = { speechStarts: 0, released: 0 };
    const h = createHarness({ turnEnd: vadFactory(counts), stt: { transcript: 'hello there' } });
    const device = h.connect();
    await device.hello();
    device.listen('start', { mode: 'realtime' });
    await device.stream(pcmPackets(silenceSamples(1)), { perTick: 1 });
    expect(device.messages('stt')).toEqual([]);
    expect(h.stt.streams).toHaveLength(0);

    const speech = pcmPackets(speechSamples(1.2));
    await device.stream([...speech, ...pcmPackets(silenceSamples(0.6))], { perTick: 1 });
    const [record] = await h.recorder.waitForTurns(1);
    expect(record).toMatchObject({ kind: 'audio', outcome: 'completed', transcript: 'hello there' });
    // The recognizer got the speech from its first packet (the pre-roll), not from the detection on.
    expect(h.stt.streams[0]!.chunks.length).toBeGreaterThanOrEqual(speech.length);
    expect(counts.speechStarts).toBe(1);

    // Still listening: the next utterance is the next turn, without another listen start.
    await device.stream([...speech, ...pcmPackets(silenceSamples(0.6))], { perTick: 1 });
    await h.recorder.waitForTurns(2);
    device.listen('stop');
    expect(counts.released).toBe(1);
  });

  it('speech while the gateway speaks is a barge-in: tts stop at once, nothing more of that reply, a new turn', async () => {
    const counts = { speechStarts: 0, released: 0 };
    const long = Array.from({ length: 6 }, (_, i) => `Sentence number ${i + 1} of a long answer.`);
    let replies = 0;
    const sentences = () => (replies++ === 0 ? long : ['Yes?']);
    const h = createHarness({ turnEnd: vadFactory(counts), responder: { sentences }, tts: { msPerChar: 40 } });
    const device = h.connect();
    await device.hello();
    device.listen('start', { mode: 'realtime' });
    await device.stream([...pcmPackets(speechSamples(0.6)), ...pcmPackets(silenceSamples(0.6))], { perTick: 1 });
    await device.link.waitForAudio(3);
    // The device keeps sending its (echo-cancelled) microphone while it plays: silence does nothing …
    await device.stream(pcmPackets(silenceSamples(0.3)), { perTick: 1 });
    expect(device.messages('tts').some((m) => m.state === 'stop')).toBe(false);
    // … speech interrupts.
    await device.stream(pcmPackets(speechSamples(0.3)), { perTick: 1 });
    await device.link.waitFor(isType('tts', (m) => m.state === 'stop'));
    const first = (await h.recorder.waitForTurns(1))[0]!;
    expect(first.outcome).toBe('aborted');
    const stopAt = device.link.sent.find((s) => s.message.type === 'tts' && s.message.state === 'stop')!.at;
    const audioAfter = device.link.audio.filter((a) => a.at > stopAt && a.turn === first.turn);
    expect(audioAfter).toEqual([]);
    await device.stream(pcmPackets(silenceSamples(0.6)), { perTick: 1 });
    const second = (await h.recorder.waitForTurns(2))[1]!;
    expect(second.kind).toBe('audio');
  });

  it('without a speech-start detector, realtime listens like auto', async () => {
    const h = createHarness({ turnEnd: { create: () => ({ accept: () => false }) } });
    const device = h.connect();
    await device.hello();
    device.listen('start', { mode: 'realtime' });
    await device.stream(pcmPackets(speechSamples(0.6)));
    device.listen('stop');
    const [record] = await h.recorder.waitForTurns(1);
    expect(record!.kind).toBe('audio');
  });
});
