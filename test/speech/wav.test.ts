/** WAV decoding/encoding: exact 16-bit scaling, other sample formats, streamed headers. */
import { describe, expect, it } from 'vitest';
import { float32ToInt16 } from '../../audio/pcm16.ts';
import { decodeWav, encodeWavPcm16, WavError } from '../../audio/wav.ts';

function wav(format: number, bits: number, channels: number, rate: number, data: Buffer, dataSize = data.length): Buffer {
  const head = Buffer.alloc(44);
  head.write('RIFF', 0, 'ascii');
  head.writeUInt32LE(36 + dataSize, 4);
  head.write('WAVEfmt ', 8, 'ascii');
  head.writeUInt32LE(16, 16);
  head.writeUInt16LE(format, 20);
  head.writeUInt16LE(channels, 22);
  head.writeUInt32LE(rate, 24);
  head.writeUInt32LE((rate * channels * bits) / 8, 28);
  head.writeUInt16LE((channels * bits) / 8, 32);
  head.writeUInt16LE(bits, 34);
  head.write('data', 36, 'ascii');
  head.writeUInt32LE(dataSize, 40);
  return Buffer.concat([head, data]);
}

describe('WAV', () => {
  it('maps 16-bit PCM to v / 32768 exactly, and back without loss', () => {
    const values = [-32768, -32767, -1, 0, 1, 12345, 32767];
    const data = Buffer.alloc(values.length * 2);
    values.forEach((v, i) => data.writeInt16LE(v, i * 2));
    const decoded = decodeWav(wav(1, 16, 1, 16000, data));
    expect(decoded.sampleRate).toBe(16000);
    expect(Array.from(decoded.samples)).toEqual(values.map((v) => Math.fround(v / 32768)));
    expect(Array.from(float32ToInt16(decoded.samples))).toEqual(values);
    const again = decodeWav(encodeWavPcm16(decoded.samples, 16000));
    expect(again.samples).toEqual(decoded.samples);
  });

  it('clamps out-of-range floats when writing 16-bit', () => {
    expect(Array.from(float32ToInt16(new Float32Array([1.5, -2, 1, -1])))).toEqual([32767, -32768, 32767, -32768]);
  });

  it('reads float32 and 24-bit files and mixes stereo down to mono', () => {
    const f = Buffer.alloc(16);
    [0.5, -0.25, 1, 0].forEach((v, i) => f.writeFloatLE(v, i * 4));
    expect(Array.from(decodeWav(wav(3, 32, 2, 48000, f)).samples)).toEqual([0.125, 0.5]);
    const p24 = Buffer.alloc(6);
    p24.writeIntLE(4194304, 0, 3);
    p24.writeIntLE(-8388608, 3, 3);
    expect(Array.from(decodeWav(wav(1, 24, 1, 8000, p24)).samples)).toEqual([0.5, -1]);
  });

  it('reads a streamed WAV whose header claims more data than there is (espeak-ng --stdout)', () => {
    const data = Buffer.alloc(8);
    data.writeInt16LE(16384, 0);
    expect(decodeWav(wav(1, 16, 1, 22050, data, 0x7ffff000)).samples.length).toBe(4);
  });

  it('refuses what is not a WAV', () => {
    expect(() => decodeWav(Buffer.from('hello world, not a wav'))).toThrow(WavError);
    expect(() => decodeWav(wav(2, 4, 1, 8000, Buffer.alloc(4)))).toThrow(/unsupported WAV format 2/);
  });
});
