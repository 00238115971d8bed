/**
 * Issue 2, end to end: whole turns from the device simulator through the real gateway (both
 * transports, embedded broker, SQLite store) with the engine fakes of test/fakes: hello,
 * partial and final transcripts, reply sentences, paced reply audio, abort, barge-in by
 * `listen start`, reset, typed turns, ping, and stored turns that survive a restart.
 */
import { describe, expect, it } from 'vitest';
import { createMicEncoder, paceFrames, splitFrames } from '../../device-sim/index.ts';
import type { GatewayMessage } from '../../protocol/index.ts';
import { FakeResponder } from '../fakes/fake-responder.ts';
import { FakeStt } from '../fakes/fake-stt.ts';
import { FakeTts, fakeTtsDurationMs } from '../fakes/fake-tts.ts';
import { maxLeadMs, recordAudioArrivals, speechClip } from './audio.ts';
import { disposeGatewaysAfterEach, E2eGateway, TRANSPORTS, uniqueId } from './harness.ts';

disposeGatewaysAfterEach();

/** Reply audio of the fake TTS, per character: 30 ms makes the reply below about 2.7 s long. */
const MS_PER_CHAR = 30;
const REPLY = ['Sure thing.', 'The kitchen light is on now, and the hallway light is on as well.', 'Anything else?'];
/** Allowance for loopback delivery and timer lateness on a loaded 2-core CI machine (not a speed target). */
const SLACK_MS = 300;
const LEAD_MS = 400;

function startWithFakes(responderSentences: string[] = REPLY) {
  const stt = new FakeStt();
  const tts = new FakeTts({ msPerChar: MS_PER_CHAR });
  const responder = new FakeResponder({ sentences: responderSentences });
  return E2eGateway.start({ engines: { stt, tts, responder }, overrides: { 'limits.leadMs': LEAD_MS } }).then((gw) => ({ gw, stt, tts, responder }));
}

const replyMs = (sentences: string[]) => sentences.reduce((ms, s) => ms + fakeTtsDurationMs(s, MS_PER_CHAR), 0);

describe.each(TRANSPORTS)('whole turns over %s', (transport) => {
  it('runs a push-to-talk turn: hello, partials, final, reply sentences, paced reply audio, tts stop done, stored', async () => {
    const { gw, stt, responder } = await startWithFakes();
    const creds = gw.addDevice(uniqueId('talker'));
    const device = await gw.connect(transport, creds, { codec: 'opus', replyRate: 24000 });
    expect(device.gatewayHello).toMatchObject({ transport, version: 1, audio_params: { format: 'opus', sample_rate: 24000 } });
    const arrivals = recordAudioArrivals(device);

    const result = await device.talk(await speechClip(2), { speed: 1.5 });

    expect(result.errors).toEqual([]);
    expect(result.stopReason).toBe('done');
    // The fake recognizer hears one word per voiced 200 ms block: partials grow into the final.
    expect(result.final).toMatch(/^turn on the/);
    expect(result.partials.length).toBeGreaterThan(0);
    for (const partial of result.partials) expect(result.final!.startsWith(partial)).toBe(true);
    // Every microphone frame reached the recognizer, decoded (60 ms of 16 kHz each).
    expect(stt.lastStream!.samples().length).toBe(result.micFrames * 960);
    expect(responder.requests.map((r) => r.text)).toEqual([result.final]);
    expect(result.sentences).toEqual(REPLY);

    // All the reply audio arrived (each sentence padded to whole frames) ...
    const frameMs = device.gatewayHello!.audio_params.frame_duration;
    const receivedMs = (result.replyAudio.samples.length * 1000) / result.replyAudio.sampleRate;
    expect(receivedMs).toBeGreaterThanOrEqual(replyMs(REPLY));
    expect(receivedMs).toBeLessThanOrEqual(replyMs(REPLY) + REPLY.length * frameMs);
    expect(arrivals).toHaveLength(result.replyAudio.packets);
    // ... paced: never more than lead_ms ahead of playback (unpaced, it would be ~2.7 s ahead).
    expect(maxLeadMs(arrivals, frameMs)).toBeLessThanOrEqual(LEAD_MS + frameMs + SLACK_MS);
    expect(arrivals.at(-1)! - arrivals[0]!).toBeGreaterThanOrEqual(receivedMs - LEAD_MS - frameMs - SLACK_MS);

    const stored = await gw.waitForTurn(creds.id);
    expect(stored).toMatchObject({ kind: 'audio', turn: result.turn, outcome: 'completed', transcript: result.final, reply: REPLY.join(' ') });
    expect(device.issues).toEqual([]);
  });

  it('stops the reply audio within one frame of an abort; tts stop says aborted; only the spoken part is stored', async () => {
    const long = 'This first sentence is long enough to keep speaking for well over two whole seconds of audio.';
    const { gw } = await startWithFakes([long, 'This second sentence is never heard.']);
    const creds = gw.addDevice(uniqueId('aborter'));
    const device = await gw.connect(transport, creds);

    const result = await device.talk(await speechClip(1), { speed: 1.5, abortAfterMs: 300 });

    expect(result.abortSent).toBe(true);
    expect(result.stopReason).toBe('aborted');
    expect(result.errors).toEqual([]);
    const frameMs = device.gatewayHello!.audio_params.frame_duration;
    expect(result.timings.abortToLastAudioMs).not.toBeNull();
    expect(result.timings.abortToLastAudioMs!).toBeLessThanOrEqual(frameMs + SLACK_MS);
    // The device got about 300 ms played + the lead, not the sentence's 2.8 s.
    const receivedMs = (result.replyAudio.samples.length * 1000) / result.replyAudio.sampleRate;
    expect(receivedMs).toBeLessThan(300 + LEAD_MS + frameMs + 2 * SLACK_MS);
    expect(result.sentences).toEqual([long]);

    const stored = await gw.waitForTurn(creds.id);
    expect(stored.outcome).toBe('aborted');
    expect(stored.reply).toBe(long);
  });

  it('treats listen start while speaking as a barge-in: the old reply stops (aborted), the new turn runs', async () => {
    const long = 'This reply keeps going for a good while so that the wearer can interrupt it halfway.';
    const { gw, responder } = await startWithFakes([long]);
    const creds = gw.addDevice(uniqueId('barger'));
    // The simulator plays one turn at a time, so the interrupting press is sent by hand.
    const raw = await gw.raw(transport, creds);
    await raw.sendJson({ type: 'hello', version: 1, transport, audio_params: { format: 'opus', sample_rate: 16000, channels: 1, frame_duration: 60 } });
    const hello = (await raw.waitFor((m) => m.type === 'hello')) as Extract<GatewayMessage, { type: 'hello' }>;
    const session = hello.session_id;
    await raw.sendJson({ session_id: session, type: 'listen', state: 'detect', text: 'tell me a long story' });
    const start = (await raw.waitFor((m) => m.type === 'tts' && m.state === 'start')) as Extract<GatewayMessage, { type: 'tts' }>;
    const first = start.turn;
    await eventually(() => raw.audioPackets >= 3);

    await raw.sendJson({ session_id: session, type: 'listen', state: 'start', mode: 'manual', turn: 42 });
    await raw.waitFor((m) => m.type === 'tts' && m.state === 'stop' && m.turn === first);
    const encoder = createMicEncoder('opus', 60);
    const frames = splitFrames(await speechClip(1), 60);
    await paceFrames({ frameCount: frames.length, frameMs: 60, speed: 1.5, send: (seq) => void raw.sendAudio(encoder.encode(frames[seq]!), 42, seq) });
    encoder.close();
    await raw.sendJson({ session_id: session, type: 'listen', state: 'stop', turn: 42, frames: frames.length });
    const done = await raw.waitFor((m) => m.type === 'tts' && m.state === 'stop' && m.turn === 42, 30_000);

    const stop = raw.messages.find((m) => m.type === 'tts' && m.state === 'stop' && m.turn === first);
    expect(stop).toMatchObject({ reason: 'aborted' });
    expect(done).toMatchObject({ reason: 'done' });
    const final = raw.messages.find((m) => m.type === 'stt' && m.final && m.turn === 42);
    expect(final).toMatchObject({ text: expect.stringMatching(/^turn on/) });
    expect(raw.messages.filter((m) => m.type === 'error')).toEqual([]);
    expect(responder.requests.map((r) => r.text)).toEqual(['tell me a long story', (final as { text: string }).text]);
    // The interrupted turn was cut short and stored as such, with only what was spoken.
    const interrupted = await gw.waitForTurn(creds.id, (r) => r.turn === first);
    expect(interrupted).toMatchObject({ kind: 'text', outcome: 'aborted', reply: long });
    await expect(gw.waitForTurn(creds.id, (r) => r.turn === 42)).resolves.toMatchObject({ outcome: 'completed', reply: long });
  });

  it('answers a typed turn (listen detect) and a ping, and forwards reset to the responder', async () => {
    const { gw, responder } = await startWithFakes(['It is noon.']);
    const creds = gw.addDevice(uniqueId('typist'));
    const device = await gw.connect(transport, creds);

    const rtt = await device.ping();
    expect(rtt).toBeGreaterThanOrEqual(0);

    const result = await device.typed('what time is it');
    expect(result.errors).toEqual([]);
    expect(result.kind).toBe('typed');
    expect(result.final).toBe('what time is it');
    expect(result.sentences).toEqual(['It is noon.']);
    expect(result.stopReason).toBe('done');
    expect(result.replyAudio.packets).toBeGreaterThan(0);
    expect(responder.requests.map((r) => r.text)).toEqual(['what time is it']);
    await expect(gw.waitForTurn(creds.id)).resolves.toMatchObject({ kind: 'text', transcript: 'what time is it', reply: 'It is noon.', outcome: 'completed' });

    await device.reset();
    await eventually(() => responder.resets.length > 0);
    expect(responder.resets).toEqual([creds.id]);
    expect(gw.lines(creds.id, 'conversation reset')).toHaveLength(1);
    // The session goes on after a reset.
    const next = await device.typed('and now');
    expect(next.stopReason).toBe('done');
    expect(device.issues).toEqual([]);
  });

  it('keeps the stored turns in SQLite across a gateway restart, and the device can talk again', async () => {
    const { gw } = await startWithFakes(['Okay.']);
    const creds = gw.addDevice(uniqueId('keeper'));
    const device = await gw.connect(transport, creds);
    const spoken = await device.talk(await speechClip(1), { speed: 1.5 });
    const typed = await device.typed('remember this');
    expect([spoken.stopReason, typed.stopReason]).toEqual(['done', 'done']);
    await gw.waitForTurn(creds.id, (r) => r.kind === 'text');

    const again = await gw.restart();
    const turns = again.gateway.store.turns.listTurns(creds.id);
    expect(turns.map((t) => ({ kind: t.kind, turn: t.turn, transcript: t.transcript, reply: t.reply, outcome: t.outcome }))).toEqual([
      { kind: 'text', turn: typed.turn, transcript: 'remember this', reply: 'Okay.', outcome: 'completed' },
      { kind: 'audio', turn: spoken.turn, transcript: spoken.final, reply: 'Okay.', outcome: 'completed' },
    ]);
    expect(turns[1]!.timings.releaseToFinalMs).toBeGreaterThanOrEqual(0);

    // The registration survived too: the same token still connects.
    const back = await again.connect(transport, creds);
    await expect(back.typed('still there?')).resolves.toMatchObject({ stopReason: 'done' });
  });
});

async function eventually(probe: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
