import { describe, expect, it } from 'vitest';
import {
  chunkSamples,
  concatFloat32,
  float32ToInt16,
  float32ToPcm16,
  int16ToFloat32,
  int16ToPcm16Bytes,
  pcm16BytesToInt16,
  pcm16ToFloat32,
} from '../../audio/pcm16.ts';

describe('pcm16', () => {
  it('decodes little-endian int16 with the exact 1/32768 scale', () => {
    const bytes = Uint8Array.from([0x00, 0x80, 0xff, 0x7f, 0x00, 0x00, 0x01, 0x00, 0xff, 0xff]);
    expect(Array.from(pcm16BytesToInt16(bytes))).toEqual([-32768, 32767, 0, 1, -1]);
    expect(Array.from(pcm16ToFloat32(bytes))).toEqual([-1, 32767 / 32768, 0, 1 / 32768, -1 / 32768]);
  });

  it('round-trips every int16 value bit-exactly through float32', () => {
    const all = new Int16Array(65536);
    for (let i = 0; i < all.length; i++) all[i] = i - 32768;
    const back = pcm16BytesToInt16(float32ToPcm16(int16ToFloat32(all)));
    expect(Buffer.from(back.buffer).equals(Buffer.from(all.buffer))).toBe(true);
    expect(Buffer.from(int16ToPcm16Bytes(all)).equals(Buffer.from(float32ToPcm16(pcm16ToFloat32(int16ToPcm16Bytes(all)))))).toBe(true);
  });

  it('clips instead of wrapping and rounds to the nearest step', () => {
    const out = float32ToInt16(Float32Array.from([1, 1.5, -1, -2, 0.49 / 32768, 0.51 / 32768, Number.NaN]));
    expect(Array.from(out)).toEqual([32767, 32767, -32768, -32768, 0, 1, 0]);
  });

  it('refuses an odd number of bytes', () => {
    expect(() => pcm16BytesToInt16(new Uint8Array(3))).toThrow(RangeError);
  });

  it('chunks into fixed frames and pads the last one with silence', () => {
    const x = Float32Array.from({ length: 10 }, (_, i) => i + 1);
    const frames = chunkSamples(x, 4);
    expect(frames.map((f) => Array.from(f))).toEqual([
      [1, 2, 3, 4],
      [5, 6, 7, 8],
      [9, 10, 0, 0],
    ]);
    expect(chunkSamples(x.subarray(0, 8), 4)).toHaveLength(2);
    expect(chunkSamples(new Float32Array(0), 4)).toHaveLength(0);
    expect(Array.from(concatFloat32(frames)).slice(0, 10)).toEqual(Array.from(x));
  });
});
