import { afterEach, describe, expect, it } from 'vitest';
import type { GatewayMessage } from '../../protocol/index.ts';
import { float32ToInt16 } from '../../audio/pcm16.ts';
import { LimitsSchema } from '../../gateway/session/limits-config.ts';
import { LISTEN_WALL_SLACK_MS } from '../../gateway/session/turn-listener.ts';
import { createHarness, isType, opusPackets, pcmPackets, speechSamples } from './harness.ts';

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

const errorCodes = (sent: GatewayMessage[]) => sent.filter((m) => m.type === 'error').map((m) => (m as { code: string }).code);
const sameSamples = (a: Int16Array, b: Int16Array) => a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

describe('microphone audio limits', () => {
  it('a frame over maxAudioFrameBytes is dropped with one unsupported_audio per turn', async () => {
    const { h, device } = harness();
    await device.hello();
    device.listen('start', { turn: 1 });
    const good = pcmPackets(speechSamples(0.6));
    device.audio(good[0]!);
    for (let i = 0; i < 3; i++) device.audio(new Uint8Array(5000));
    for (const p of good.slice(1)) device.audio(p);
    device.listen('stop', { turn: 1 });
    const [record] = await h.recorder.waitForTurns(1);
    expect(errorCodes(device.messages())).toEqual(['unsupported_audio']);
    expect(device.messages('error')[0]).toMatchObject({ turn: 1, message: expect.stringContaining('5000 bytes') });
    expect(record!.timings.audioMs).toBe(600);
    expect(sameSamples(float32ToInt16(h.stt.lastStream!.samples()), speechSamples(0.6))).toBe(true);
    expect(h.log.matching('over the 4096-byte limit')).toHaveLength(1);
  });

  it('invalid opus packets are dropped with one unsupported_audio per turn; valid ones still count', async () => {
    const { h, device } = harness();
    await device.hello({ format: 'opus', frameMs: 60 });
    for (const turn of [1, 2]) {
      device.listen('start', { turn });
      const packets = opusPackets(speechSamples(0.6));
      device.audio(Uint8Array.from([0x03, 0x00]));
      device.audio(Uint8Array.from([0xff, 0xff, 0x01]));
      for (const p of packets) device.audio(p);
      device.audio(new Uint8Array(0));
      device.listen('stop', { turn });
      await h.recorder.waitForTurns(turn);
    }
    expect(errorCodes(device.messages())).toEqual(['unsupported_audio', 'unsupported_audio']); // once per turn
    expect(h.recorder.records.map((r) => r.timings.audioMs)).toEqual([600, 600]);
  });

  it('audio with no listening turn is dropped and logged once', async () => {
    const { h, device } = harness();
    await device.hello();
    for (let i = 0; i < 5; i++) device.audio(new Uint8Array(1920));
    expect(h.stt.streams).toHaveLength(0);
    expect(device.messages().map((m) => m.type)).toEqual(['hello']);
    expect(h.log.matching('audio with no listening turn')).toHaveLength(1);
  });

  it('a turn over maxTurnMs gets turn_too_long and is finalized as if stop came', async () => {
    const { h, device } = harness({ limits: { maxTurnMs: 1000 } });
    await device.hello();
    device.listen('start', { turn: 1 });
    await device.stream(pcmPackets(speechSamples(2)));
    const [record] = await h.recorder.waitForTurns(1);
    expect(errorCodes(device.messages())).toEqual(['turn_too_long']);
    const kinds = device.messages().filter((m) => !(m.type === 'stt' && !m.final)).map((m) => m.type);
    expect(kinds.slice(0, 3)).toEqual(['hello', 'error', 'stt']);
    expect(record).toMatchObject({ outcome: 'completed' });
    expect(record!.timings.audioMs).toBe(960); // 16 × 60 ms; the 17th frame would have passed 1000 ms
    expect(h.stt.lastStream!.samples().length).toBe(960 * 16);
    device.listen('stop', { turn: 1 }); // the device's own stop, arriving later, changes nothing
    expect(device.messages('stt').filter((m) => m.final)).toHaveLength(1);
  });

  it('a listening turn that goes silent without stop is ended after maxTurnMs plus a slack', async () => {
    const { h, device } = harness({ limits: { maxTurnMs: 300 } });
    await device.hello();
    const started = performance.now();
    device.listen('start', { turn: 1 });
    await device.stream(pcmPackets(speechSamples(0.12))); // then the device falls silent, button still "held"
    const [record] = await h.recorder.waitForTurns(1, 10_000);
    expect(performance.now() - started).toBeGreaterThanOrEqual(300 + LISTEN_WALL_SLACK_MS - 5);
    expect(errorCodes(device.messages())).toEqual(['turn_too_long']);
    expect(device.messages('stt').filter((m) => m.final)).toHaveLength(1);
    expect(record!.timings.audioMs).toBe(120);
  });

  it('audio faster than maxAudioRate × real time gets rate_limited once and the excess is dropped', async () => {
    const defaults = LimitsSchema.parse({}); // 2× real time, 1 s burst
    const { h, device } = harness({ limits: { maxAudioRate: defaults.maxAudioRate, rateBurstMs: defaults.rateBurstMs } });
    await device.hello();
    device.listen('start', { turn: 1 });
    const started = performance.now();
    await device.stream(pcmPackets(speechSamples(4))); // 4 s of audio at once
    const elapsed = performance.now() - started;
    device.listen('stop', { turn: 1 });
    const [record] = await h.recorder.waitForTurns(1);
    expect(errorCodes(device.messages())).toEqual(['rate_limited']);
    // the burst plus what 2× real time refilled while sending
    expect(record!.timings.audioMs).toBeGreaterThanOrEqual(960);
    expect(record!.timings.audioMs).toBeLessThanOrEqual(1000 + 2 * elapsed + 60);
    expect(record!.outcome).toBe('completed');
  });

  it('audio at real time is never rate limited', async () => {
    const defaults = LimitsSchema.parse({});
    const { h, device } = harness({ limits: { maxAudioRate: defaults.maxAudioRate, rateBurstMs: defaults.rateBurstMs } });
    await device.hello({ format: 'pcm16', frameMs: 60 });
    device.listen('start', { turn: 1 });
    await device.stream(pcmPackets(speechSamples(1.5)), { perTick: 1, gapMs: 60 });
    device.listen('stop', { turn: 1 });
    const [record] = await h.recorder.waitForTurns(1);
    expect(errorCodes(device.messages())).toEqual([]);
    expect(record!.timings.audioMs).toBe(1500);
  });
});

describe('MQTT frames (turn and seq in the header)', () => {
  async function mqttTurn(options: Parameters<typeof createHarness>[0] = {}) {
    const { h, device } = harness({ transport: 'mqtt', ...options });
    await device.hello({ format: 'pcm16', frameMs: 60 });
    return { h, device };
  }

  it('puts reordered and duplicated frames back in order: the recognizer gets the exact audio', async () => {
    const { h, device } = await mqttTurn();
    const source = speechSamples(1.2);
    const packets = pcmPackets(source);
    device.listen('start', { turn: 42 });
    const order = [1, 0, 2, 4, 3, 3, 5, 7, 6, 8, 9, 0, 11, 10, 12, 13, 15, 14, 16, 17, 18, 19];
    for (const seq of order) device.audio(packets[seq]!, { turn: 42, seq });
    device.listen('stop', { turn: 42, frames: 20 });
    await h.recorder.waitForTurns(1);
    expect(sameSamples(float32ToInt16(h.stt.lastStream!.samples()), source)).toBe(true);
  });

  it('waits after stop for frames still in flight, then uses them', async () => {
    const { h, device } = await mqttTurn({ limits: { stragglerWaitMs: 300 } });
    const source = speechSamples(1.2);
    const packets = pcmPackets(source);
    device.listen('start', { turn: 5 });
    for (let seq = 0; seq < 17; seq++) device.audio(packets[seq]!, { turn: 5, seq });
    device.listen('stop', { turn: 5, frames: 20 }); // the stop overtook frames 17–19
    await new Promise((r) => setTimeout(r, 100));
    expect(device.messages('stt').filter((m) => m.final)).toEqual([]);
    for (let seq = 17; seq < 20; seq++) device.audio(packets[seq]!, { turn: 5, seq });
    await device.link.waitFor(isType('stt', (m) => m.final));
    await h.recorder.waitForTurns(1);
    expect(sameSamples(float32ToInt16(h.stt.lastStream!.samples()), source)).toBe(true);
  });

  it('a missing frame does not hold the turn beyond the straggler wait', async () => {
    const { h, device } = await mqttTurn({ limits: { stragglerWaitMs: 300 } });
    const packets = pcmPackets(speechSamples(1.2));
    device.listen('start', { turn: 6 });
    for (let seq = 0; seq < 20; seq++) if (seq !== 12) device.audio(packets[seq]!, { turn: 6, seq });
    const stoppedAt = performance.now();
    device.listen('stop', { turn: 6, frames: 20 });
    await device.link.waitFor(isType('stt', (m) => m.final));
    const waited = performance.now() - stoppedAt;
    expect(waited).toBeGreaterThanOrEqual(290);
    expect(waited).toBeLessThan(5_000);
    const [record] = await h.recorder.waitForTurns(1);
    expect(record!.timings.audioMs).toBe(19 * 60);
    expect(record!.timings.releaseToFinalMs).toBeGreaterThanOrEqual(290);
  });

  it('stop without frames, or with all frames already in, finalizes at once', async () => {
    const { h, device } = await mqttTurn({ limits: { stragglerWaitMs: 5_000 } });
    const packets = pcmPackets(speechSamples(0.6));
    device.listen('start', { turn: 1 });
    packets.forEach((p, seq) => device.audio(p, { turn: 1, seq }));
    device.listen('stop', { turn: 1, frames: packets.length });
    await h.recorder.waitForTurns(1, 3_000);
    device.listen('start', { turn: 2 });
    device.audio(packets[0]!, { turn: 2, seq: 0 });
    device.listen('stop', { turn: 2 });
    const records = await h.recorder.waitForTurns(2, 3_000);
    expect(records.map((r) => r.timings.releaseToFinalMs! < 1_000)).toEqual([true, true]);
  });

  it('frames of another turn, or of a finished turn, are dropped and logged once', async () => {
    const { h, device } = await mqttTurn();
    const packets = pcmPackets(speechSamples(0.6));
    device.listen('start', { turn: 8 });
    for (let i = 0; i < 3; i++) device.audio(packets[0]!, { turn: 99, seq: i }); // not the listening turn
    packets.forEach((p, seq) => device.audio(p, { turn: 8, seq }));
    device.listen('stop', { turn: 8, frames: packets.length });
    await h.recorder.waitForTurns(1);
    for (let i = 0; i < 3; i++) device.audio(packets[i]!, { turn: 8, seq: 10 + i }); // the finished turn
    expect(h.recorder.records[0]!.timings.audioMs).toBe(600);
    expect(h.stt.streams).toHaveLength(1);
    expect(h.log.matching('audio of another turn dropped')).toHaveLength(1);
    expect(h.log.matching('audio with no listening turn dropped')).toHaveLength(1);
    expect(errorCodes(device.messages())).toEqual([]);
  });

  it('when the device does not number its turns, frames are taken whatever turn their header names', async () => {
    const { h, device } = await mqttTurn();
    const source = speechSamples(0.6);
    device.listen('start');
    pcmPackets(source).forEach((p, seq) => device.audio(p, { turn: 12345, seq }));
    device.listen('stop', { frames: 10 });
    const [record] = await h.recorder.waitForTurns(1);
    expect(record!.turn).toBe(1);
    expect(sameSamples(float32ToInt16(h.stt.lastStream!.samples()), source)).toBe(true);
    expect(new Set(device.link.audio.map((a) => a.turn))).toEqual(new Set([1]));
  });
});
