/**
 * The structural Opus check (RFC 6716 §3.4) that tells decrypted xiaozhi UDP audio from
 * garbage: every packet libopus makes passes with its true duration, each requirement R1–R7
 * refuses what breaks it, and random bytes pass as a 60 ms packet about 2.4 % of the time.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createOpusEncoder } from '../../audio/opus.ts';
import { opusPacketDurationTenthsMs } from '../../audio/opus-packet.ts';
import { float32ToInt16 } from '../../audio/pcm16.ts';
import { sine } from './signal.ts';

const packet = (...bytes: number[]) => Uint8Array.from(bytes);

describe('opusPacketDurationTenthsMs', () => {
  it.each([
    [16000, 20],
    [16000, 60],
    [24000, 60],
    [48000, 20],
  ])('passes what libopus encodes at %i Hz in %i ms frames, speech and DTX silence', (rate, frameMs) => {
    const encoder = createOpusEncoder(rate as 16000, { dtx: true });
    const samples = (rate * frameMs) / 1000;
    const tone = float32ToInt16(sine(300, rate, 1, 0.5));
    for (let i = 0; i + samples <= tone.length; i += samples) expect(opusPacketDurationTenthsMs(encoder.encode(tone.subarray(i, i + samples)))).toBe(frameMs * 10);
    const silence = new Int16Array(samples);
    const quiet = Array.from({ length: 30 }, () => encoder.encode(silence));
    expect(quiet.some((p) => p.length <= 3)).toBe(true); // DTX kicked in
    for (const p of quiet) expect(opusPacketDurationTenthsMs(p)).toBe(frameMs * 10);
  });

  it('reads each configuration and code', () => {
    expect(opusPacketDurationTenthsMs(packet(11 << 3))).toBe(600); // SILK WB 60 ms, TOC only (DTX)
    expect(opusPacketDurationTenthsMs(packet(16 << 3, 1))).toBe(25); // CELT 2.5 ms
    expect(opusPacketDurationTenthsMs(packet((1 << 3) | 1, 7, 7))).toBe(400); // code 1: 2 × 20 ms
    expect(opusPacketDurationTenthsMs(packet((1 << 3) | 2, 1, 9, 9))).toBe(400); // code 2: 1 + 1 byte
    expect(opusPacketDurationTenthsMs(packet((19 << 3) | 3, 3, 1, 2, 3))).toBe(600); // code 3 CBR: 3 × 20 ms
    expect(opusPacketDurationTenthsMs(packet((19 << 3) | 3, 0x80 | 3, 1, 1, 5, 6, 7))).toBe(600); // code 3 VBR
    expect(opusPacketDurationTenthsMs(packet((19 << 3) | 3, 0x40 | 3, 2, 1, 2, 3, 0, 0))).toBe(600); // code 3 with 2 bytes of padding
    const long = new Uint8Array(2 + 300);
    long[0] = (1 << 3) | 2;
    long[1] = 252; // 2-byte length: 252 + 4 × 12 = 300
    long[2] = 12;
    expect(opusPacketDurationTenthsMs(long.subarray(0, 3 + 300 - 1))).toBeNull(); // first frame longer than the packet
  });

  it('refuses what RFC 6716 §3.4 forbids', () => {
    expect(opusPacketDurationTenthsMs(new Uint8Array(0))).toBeNull(); // R1
    expect(opusPacketDurationTenthsMs(new Uint8Array(1277))).toBeNull(); // R2: code 0 frame of 1276 bytes
    expect(opusPacketDurationTenthsMs(packet(1, 1, 2, 3))).toBeNull(); // R3: code 1 with an odd payload (3 bytes)
    expect(opusPacketDurationTenthsMs(packet(2))).toBeNull(); // R4: code 2 without its length
    expect(opusPacketDurationTenthsMs(packet(2, 5, 1))).toBeNull(); // R4: first frame longer than what is left
    expect(opusPacketDurationTenthsMs(packet(3))).toBeNull(); // R6: code 3 without its count byte
    expect(opusPacketDurationTenthsMs(packet(3, 0))).toBeNull(); // R5: zero frames
    expect(opusPacketDurationTenthsMs(packet((3 << 3) | 3, 3, 0, 0, 0))).toBeNull(); // R5: 3 × 60 ms > 120 ms
    expect(opusPacketDurationTenthsMs(packet((19 << 3) | 3, 3, 1, 2))).toBeNull(); // R6: 2 bytes cannot split in 3
    expect(opusPacketDurationTenthsMs(packet((19 << 3) | 3, 0x40 | 3, 200, 1, 2, 3))).toBeNull(); // padding longer than the packet
    expect(opusPacketDurationTenthsMs(packet((19 << 3) | 3, 0x80 | 3, 9, 1, 5))).toBeNull(); // R7: lengths beyond the packet
  });

  it('random bytes pass as a 60 ms packet rarely (the wrong-key check catches about 97.6 %)', () => {
    const trials = 50_000;
    let passed = 0;
    for (let i = 0; i < trials; i++) if (opusPacketDurationTenthsMs(randomBytes(20 + (i % 200))) === 600) passed++;
    const rate = passed / trials; // 2.4–2.5 % measured
    expect(rate).toBeGreaterThan(0.01);
    expect(rate).toBeLessThan(0.04);
  });
});
