/** SimDevice's turn flow against a small fake gateway, over both transports. */
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ConnectError,
  encodeMic,
  floatToPcm16,
  micFrameCount,
  OpusCodec,
  pcm16ToBytes,
  pcm16ToFloat,
  readMicWav,
  SimDevice,
  splitFrames,
  type SimDeviceOptions,
  type SimTransport,
} from '../../device-sim/index.ts';
import { startFakeGateway, tokenFor, type FakeGateway } from './fake-gateway.ts';
import type { FakeScript } from './fake-gateway-session.ts';
import path from 'node:path';
import { TTS_SAMPLES_DIR } from '../helpers/fixture-paths.ts';

const WAV_22K = path.join(TTS_SAMPLES_DIR, 'armstrong-piper-en_US-lessac-medium.wav'); // 3.74 s
const SPEED = 20; // 3.74 s of speech in ~190 ms

const speech = await readMicWav(WAV_22K);
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function gateway(transport: SimTransport, script: Partial<FakeScript> = {}): Promise<FakeGateway> {
  const fake = await startFakeGateway(transport, script);
  cleanups.push(() => fake.close());
  return fake;
}

function device(fake: FakeGateway, transport: SimTransport, deviceId: string, options: Partial<SimDeviceOptions> = {}): SimDevice {
  const sim = new SimDevice({ transport, url: fake.url, deviceId, token: tokenFor(deviceId), ...options });
  cleanups.push(() => sim.close());
  return sim;
}

function joinPackets(packets: Uint8Array[]): Uint8Array {
  return Uint8Array.from(packets.flatMap((p) => [...p]));
}

describe.each<SimTransport>(['websocket', 'mqtt'])('SimDevice over %s', (transport) => {
  it('plays a push-to-talk turn and collects everything the gateway answers', async () => {
    const fake = await gateway(transport);
    const sim = device(fake, transport, 'kitchen-1', { codec: 'pcm16', frameMs: 60, replyRate: 24000 });
    const hello = await sim.connect();
    expect(hello.session_id).toBe('S-kitchen-1');
    expect(sim.sessionId).toBe('S-kitchen-1');

    const result = await sim.talk(speech, { speed: SPEED });
    const session = await fake.session('kitchen-1');
    const frames = micFrameCount(speech.length, 60);

    // What the device sent.
    expect(session.invalid).toEqual([]);
    expect(session.sent('hello')[0]).toMatchObject({
      transport,
      audio_params: { format: 'pcm16', sample_rate: 16000, channels: 1, frame_duration: 60 },
      reply_audio: { format: 'pcm16', sample_rate: 24000 },
    });
    expect(session.sent('listen')).toEqual([
      { type: 'listen', session_id: 'S-kitchen-1', state: 'start', mode: 'manual', turn: 1 },
      { type: 'listen', session_id: 'S-kitchen-1', state: 'stop', turn: 1, frames },
    ]);
    expect(session.micPackets).toHaveLength(frames);
    const expectedMic = joinPackets(splitFrames(speech, 60).map((f) => pcm16ToBytes(floatToPcm16(f))));
    expect(joinPackets(session.micPackets.map((p) => p.packet))).toEqual(expectedMic);
    if (transport === 'mqtt') {
      expect(session.micPackets.map((p) => p.seq)).toEqual(Array.from({ length: frames }, (_, i) => i));
      expect(new Set(session.micPackets.map((p) => p.turn))).toEqual(new Set([1]));
    }

    // What the device collected.
    expect(result).toMatchObject({
      kind: 'audio',
      turn: 1,
      partials: ['hello'],
      final: 'hello world',
      sentences: ['Hi there.', 'How can I help?'],
      stopReason: 'done',
      errors: [],
      micFrames: frames,
      abortSent: false,
      replySeqGaps: 0,
    });
    const sentReply = session.replySent.get(1)!;
    expect(result.replyAudio.packets).toBe(8);
    expect(result.replyAudio.sampleRate).toBe(24000);
    expect(result.replyAudio.samples).toEqual(pcm16ToFloat(Int16Array.from(sentReply.flatMap((p) => [...p])))); // pcm16: bit-exact
    const t = result.timings;
    expect(t.streamMs).toBeGreaterThanOrEqual((frames * 60) / SPEED - 2);
    expect(t.releaseToFinalMs).toBeGreaterThanOrEqual(0);
    expect(t.releaseToFirstAudioMs).toBeGreaterThanOrEqual(t.releaseToFinalMs!);
    expect(t.totalMs).toBeGreaterThanOrEqual(t.streamMs! + t.releaseToFirstAudioMs!);
    expect(t.abortToStopMs).toBeNull();
    expect(sim.issues).toEqual([]);

    // The next turn gets the next id, and MQTT frame numbers start again from 0.
    const second = await sim.talk(speech.subarray(0, 16000 * 0.5), { speed: SPEED });
    expect(second.turn).toBe(2);
    expect(second.stopReason).toBe('done');
    if (transport === 'mqtt') expect(session.micPackets.filter((p) => p.turn === 2).map((p) => p.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('streams opus and decodes an opus reply', async () => {
    const fake = await gateway(transport);
    const sim = device(fake, transport, 'opus-1', { codec: 'opus', frameMs: 40, replyRate: 16000 });
    await sim.connect();
    const result = await sim.talk(speech, { speed: SPEED });
    const session = await fake.session('opus-1');
    const decoder = new OpusCodec(16000);
    const decodedSamples = session.micPackets.map((p) => decoder.decode(p.packet).length);
    decoder.close();
    expect(decodedSamples).toEqual(new Array(micFrameCount(speech.length, 40)).fill(640));
    expect(result.stopReason).toBe('done');
    expect(result.replyAudio.packets).toBe(8);
    expect(result.replyAudio.samples.length).toBe(8 * 640); // reply frames follow the 40 ms mic frames
    expect(sim.issues).toEqual([]);
  });

  it('sends typed text and follows the turn id the gateway gives it', async () => {
    const fake = await gateway(transport);
    const sim = device(fake, transport, 'typist');
    await sim.connect();
    const result = await sim.typed('what time is it');
    const session = await fake.session('typist');
    expect(session.sent('listen')).toEqual([{ type: 'listen', session_id: 'S-typist', state: 'detect', text: 'what time is it' }]);
    expect(result).toMatchObject({ kind: 'typed', turn: 9000, final: null, sentences: ['Hi there.', 'How can I help?'], stopReason: 'done' });
    expect(result.timings.streamMs).toBeNull();
    expect(result.timings.releaseToFirstAudioMs).toBeGreaterThanOrEqual(0);
  });

  it('barges in: sends abort after the first reply audio and measures until the reply stops', async () => {
    const fake = await gateway(transport, { packetsPerSentence: 100, packetIntervalMs: 10 });
    const sim = device(fake, transport, 'barger', { codec: 'pcm16' });
    await sim.connect();
    const result = await sim.talk(speech.subarray(0, 16000), { speed: SPEED, abortAfterMs: 30 });
    const session = await fake.session('barger');
    expect(session.sent('abort')).toEqual([{ type: 'abort', session_id: 'S-barger', reason: 'button' }]);
    expect(result.stopReason).toBe('aborted');
    expect(result.abortSent).toBe(true);
    expect(result.replyAudio.packets).toBeLessThan(200);
    expect(result.timings.abortToStopMs).toBeGreaterThanOrEqual(0);
    expect(result.timings.abortToLastAudioMs).toBeGreaterThanOrEqual(0);
    expect(sim.issues).toEqual([]);
  });

  it('ends a turn whose transcript is empty without waiting for a reply', async () => {
    const fake = await gateway(transport, { final: '', partials: [] });
    const sim = device(fake, transport, 'quiet', { timeouts: { emptyFinalGraceMs: 100 } });
    await sim.connect();
    const result = await sim.talk(speech.subarray(0, 8000), { speed: SPEED });
    expect(result).toMatchObject({ final: '', stopReason: 'no_reply', sentences: [], errors: [] });
    expect(result.replyAudio.packets).toBe(0);
  });

  it('keeps a gateway error as a protocol issue of the turn', async () => {
    const fake = await gateway(transport, { errorAfterFinal: 'llm_unavailable' });
    const sim = device(fake, transport, 'unlucky', { timeouts: { errorSettleMs: 100 } });
    await sim.connect();
    const result = await sim.talk(speech.subarray(0, 8000), { speed: SPEED });
    expect(result.stopReason).toBe('error');
    expect(result.final).toBe('hello world');
    expect(result.errors).toEqual([expect.objectContaining({ kind: 'gateway_error', code: 'llm_unavailable', turn: 1 })]);
    expect(sim.issues).toHaveLength(1);
  });

  it('reports invalid gateway messages and ignores unknown message types', async () => {
    const fake = await gateway(transport, { rawAfterHello: ['{"type":"stt","text":"no turn"}', 'not json', '{"type":"weather","sky":"blue"}'] });
    const sim = device(fake, transport, 'strict');
    const ignored: string[] = [];
    sim.on('ignored', (type) => ignored.push(type));
    await sim.connect();
    await sim.ping(); // the raw messages were sent before the pong, so they have arrived
    expect(sim.issues.map((i) => i.kind)).toEqual(['invalid_message', 'invalid_message']);
    expect(sim.issues[1]!.message).toMatch(/not valid JSON/);
    expect(ignored).toEqual(['weather']);
  });

  it('times out a turn the gateway never finishes', async () => {
    const fake = await gateway(transport, { silentAfterStop: true });
    const sim = device(fake, transport, 'waiting', { timeouts: { finalMs: 200 } });
    await sim.connect();
    const result = await sim.talk(speech.subarray(0, 8000), { speed: SPEED });
    expect(result.stopReason).toBe('timeout');
    expect(result.errors).toEqual([expect.objectContaining({ kind: 'timeout', turn: 1 })]);
    expect(sim.issues).toHaveLength(1);
  });

  it('sends ping, status, button, reset and a goodbye on close', async () => {
    const fake = await gateway(transport);
    const sim = device(fake, transport, 'chatty');
    await sim.connect();
    expect(await sim.ping()).toBeGreaterThanOrEqual(0);
    await sim.status({ battery: 87, charging: false, rssi: -61 });
    await sim.button('double_press');
    await sim.reset();
    const session = await fake.session('chatty');
    const closed = once(sim, 'close');
    await sim.close();
    await closed;
    expect(sim.ready).toBe(false);
    await expect(sim.ping()).rejects.toThrow(/not connected/);
    const types = () => session.received.map((m) => m.type);
    await expect.poll(types).toEqual(['hello', 'ping', 'status', 'button', 'reset', 'goodbye']);
    expect(session.received.at(-1)).toEqual({ type: 'goodbye', session_id: 'S-chatty', reason: 'sleep' });
    expect(session.invalid).toEqual([]);
    expect(sim.issues).toEqual([]);
  });

  it('refuses bad credentials as unauthorized', async () => {
    const fake = await gateway(transport);
    const sim = new SimDevice({ transport, url: fake.url, deviceId: 'intruder', token: 'wrong' });
    const error = await sim.connect().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).failure).toBe('unauthorized');
    expect(sim.issues).toEqual([expect.objectContaining({ kind: 'connection' })]);
  });

  it('gives up on a gateway that never says hello', async () => {
    const fake = await gateway(transport, { noHello: true });
    const sim = device(fake, transport, 'ignored', { timeouts: { helloMs: 200 } });
    await expect(sim.connect()).rejects.toThrow(/no hello/);
    expect(sim.issues).toEqual([expect.objectContaining({ kind: 'timeout' })]);
    expect(sim.ready).toBe(false);
  });

  it('ends the turn in progress when the gateway drops the connection', async () => {
    const fake = await gateway(transport);
    const sim = device(fake, transport, 'dropped', { codec: 'pcm16' });
    await sim.connect();
    const turn = sim.talk(speech, { speed: 1 }); // 3.7 s: the kick comes first
    const session = await fake.session('dropped');
    await expect.poll(() => session.micPackets.length).toBeGreaterThan(0);
    fake.kick('dropped');
    const result = await turn;
    expect(result.stopReason).toBe('disconnected');
    expect(result.errors).toEqual([expect.objectContaining({ kind: 'connection' })]);
    expect(sim.ready).toBe(false);
  });

  it('drops without goodbye, as a device out of range', async () => {
    const fake = await gateway(transport);
    const sim = device(fake, transport, 'walker');
    await sim.connect();
    const session = await fake.session('walker');
    sim.drop();
    await once(session, 'disconnected');
    if (transport === 'mqtt') {
      // The broker publishes the device's will on up/ctrl.
      await expect.poll(() => session.received.at(-1)).toEqual({ type: 'goodbye', reason: 'lost' });
    } else {
      expect(session.sent('goodbye')).toEqual([]);
    }
  });

  it('runs many devices side by side from one shared encoding', async () => {
    const fake = await gateway(transport);
    const shared = encodeMic(speech.subarray(0, 16000), 'opus', 60);
    const sims = Array.from({ length: 20 }, (_, i) => device(fake, transport, `crowd-${i}`, { firstTurn: 100 * i }));
    await Promise.all(sims.map((sim) => sim.connect()));
    const results = await Promise.all(sims.map((sim) => sim.talk(shared, { speed: 5 })));
    results.forEach((result, i) => {
      expect(result).toMatchObject({ turn: 100 * i, final: 'hello world', stopReason: 'done', errors: [], micFrames: 17 });
      expect(result.replyAudio.packets).toBe(8);
    });
    for (let i = 0; i < sims.length; i++) expect((await fake.session(`crowd-${i}`)).micPackets).toHaveLength(17);
    expect(sims.flatMap((s) => s.issues)).toEqual([]);
  });
});
