import { describe, expect, it } from 'vitest';
import { createOpusDecoder, createOpusEncoder, OpusPacketError, opusPacketDurationMs } from '../../audio/opus.ts';
import { float32ToInt16, int16ToFloat32 } from '../../audio/pcm16.ts';
import { dominantFrequency, sine, snrDb } from './signal.ts';

describe('opus', () => {
  it.each([
    [16000, 20],
    [16000, 60],
    [24000, 40],
    [24000, 60],
  ])('encodes and decodes a tone at %i Hz in %i ms frames', (rate, frameMs) => {
    const enc = createOpusEncoder(rate);
    const dec = createOpusDecoder(rate);
    const frameSamples = (rate * frameMs) / 1000;
    const source = float32ToInt16(sine(440, rate, 1, 0.4));
    const out: Int16Array[] = [];
    for (let i = 0; i + frameSamples <= source.length; i += frameSamples) {
      const packet = enc.encode(source.subarray(i, i + frameSamples));
      expect(opusPacketDurationMs(packet)).toBe(frameMs);
      const pcm = dec.decode(packet);
      expect(pcm.length).toBe(frameSamples);
      out.push(pcm);
    }
    const decoded = int16ToFloat32(Int16Array.from(out.flatMap((f) => Array.from(f))));
    expect(dominantFrequency(decoded, rate, [220, 330, 440, 550, 880])).toBe(440);
    expect(snrDb(int16ToFloat32(source), decoded).snr).toBeGreaterThan(12);
  });

  it('refuses frame lengths Opus cannot encode', () => {
    expect(() => createOpusEncoder(16000).encode(new Int16Array(1000))).toThrow(RangeError);
    expect(() => createOpusEncoder(22050)).toThrow(RangeError);
  });

  it('reports packets that are not Opus', () => {
    const dec = createOpusDecoder(16000);
    expect(() => dec.decode(new Uint8Array(0))).toThrow(OpusPacketError); // would be "packet lost" to libopus
    expect(() => dec.decode(Uint8Array.from([0x03, 0x00]))).toThrow(OpusPacketError); // code 3, zero frames
    expect(() => dec.decode(Uint8Array.from([0xff, 0xff, 0x01]))).toThrow(OpusPacketError); // 63 × 20 ms > 120 ms
    expect(() => dec.decode(Uint8Array.from([0x01, 0x05, 0x00, 0x07]))).toThrow(OpusPacketError); // code 1: 3-byte payload cannot split into 2 equal frames (libopus refuses)
  });

  it('refuses to work once closed, and closes idempotently', () => {
    const enc = createOpusEncoder(16000);
    const dec = createOpusDecoder(16000);
    const packet = enc.encode(new Int16Array(320));
    expect(dec.decode(packet)).toHaveLength(320);
    enc.close();
    dec.close();
    enc.close();
    expect(() => enc.encode(new Int16Array(320))).toThrow(/encoder is closed/);
    expect(() => dec.decode(packet)).toThrow(/decoder is closed/);
  });

  it('reads packet durations from the table of contents', () => {
    expect(opusPacketDurationMs(Uint8Array.from([0x08 | 0]))).toBe(20); // SILK NB 20 ms, one frame
    expect(opusPacketDurationMs(Uint8Array.from([(3 << 3) | 1]))).toBe(120); // SILK 60 ms × 2
    expect(opusPacketDurationMs(Uint8Array.from([(16 << 3) | 3, 0x02]))).toBe(5); // CELT 2.5 ms × 2
    expect(opusPacketDurationMs(Uint8Array.from([(3 << 3) | 3]))).toBeNull(); // code 3 without count
    expect(opusPacketDurationMs(new Uint8Array(0))).toBeNull();
  });
});
