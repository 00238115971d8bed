import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { downmix, encodeWav, parseWav, readMicWav, resample, writeWav } from '../../device-sim/index.ts';
import { FIXTURE_AUDIO_DIR } from '../helpers/fixture-paths.ts';
import { toneAmplitude } from '../audio/signal.ts';

const AUDIO = FIXTURE_AUDIO_DIR;
const WAV_16K = `${AUDIO}/tts-samples/mms-eng.wav`; // 133632 samples, mono 16-bit, 16 kHz
const WAV_22K = `${AUDIO}/tts-samples/armstrong-piper-en_US-lessac-medium.wav`; // 82432 samples, mono 16-bit, 22050 Hz

const tmp = mkdtempSync(path.join(tmpdir(), 'voxgate-sim-wav-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A WAV header + data for hand-built test files. */
function riff(fmt: { tag: number; channels: number; rate: number; bits: number }, data: Buffer, extra: Buffer[] = []): Buffer {
  const fmtChunk = Buffer.alloc(24);
  fmtChunk.write('fmt ', 0, 'ascii');
  fmtChunk.writeUInt32LE(16, 4);
  fmtChunk.writeUInt16LE(fmt.tag, 8);
  fmtChunk.writeUInt16LE(fmt.channels, 10);
  fmtChunk.writeUInt32LE(fmt.rate, 12);
  fmtChunk.writeUInt32LE((fmt.rate * fmt.channels * fmt.bits) / 8, 16);
  fmtChunk.writeUInt16LE((fmt.channels * fmt.bits) / 8, 20);
  fmtChunk.writeUInt16LE(fmt.bits, 22);
  const dataHeader = Buffer.alloc(8);
  dataHeader.write('data', 0, 'ascii');
  dataHeader.writeUInt32LE(data.length, 4);
  const body = Buffer.concat([Buffer.from('WAVE', 'ascii'), fmtChunk, ...extra, dataHeader, data]);
  const head = Buffer.alloc(8);
  head.write('RIFF', 0, 'ascii');
  head.writeUInt32LE(body.length, 4);
  return Buffer.concat([head, body]);
}

/** Counts sign changes: a frequency check that survives resampling. */
function zeroCrossings(samples: Float32Array): number {
  let count = 0;
  for (let i = 1; i < samples.length; i++) if (samples[i - 1]! < 0 !== samples[i]! < 0) count++;
  return count;
}

describe('WAV reading', () => {
  it('reads a 16 kHz mono file sample for sample, without resampling', async () => {
    const samples = await readMicWav(WAV_16K);
    expect(samples.length).toBe(133632);
    const raw = readFileSync(WAV_16K);
    const dataAt = raw.indexOf('data') + 8;
    for (const i of [0, 1000, 50_000, 133_631]) expect(samples[i]).toBe(raw.readInt16LE(dataAt + i * 2) / 32768);
  });

  it('resamples a 22050 Hz file to 16 kHz with the expected length', async () => {
    const samples = await readMicWav(WAV_22K);
    expect(Math.abs(samples.length - (82432 * 16000) / 22050)).toBeLessThanOrEqual(1);
    const peak = samples.reduce((max, v) => Math.max(max, Math.abs(v)), 0);
    expect(peak).toBeGreaterThan(0.1); // speech, not silence
    expect(peak).toBeLessThanOrEqual(1.05);
  });

  it('reads a 60 s file whole: the resampled clip keeps its length and its last second', async () => {
    // The simulator's old resampler lost the end of clips over libsamplerate-js's 1,008,000-sample buffer.
    const from = 22050;
    const tone = new Float32Array(60 * from);
    for (let i = 0; i < tone.length; i++) tone[i] = 0.5 * Math.sin((2 * Math.PI * 1000 * i) / from);
    const file = path.join(tmp, 'tone-60s-22k.wav');
    await writeWav(file, tone, from);
    const samples = await readMicWav(file);
    expect(samples.length).toBe(60 * 16000);
    const lastSecond = [samples.length - 16000, samples.length - 800] as const;
    expect(toneAmplitude(samples, 1000, 16000, ...lastSecond)).toBeCloseTo(0.5, 2);
    expect(zeroCrossings(samples.subarray(...lastSecond))).toBeGreaterThanOrEqual(1898); // 1 kHz over 0.95 s: 1900
  });

  it('keeps a tone at its pitch when resampling 22050 → 16000', async () => {
    const from = 22050;
    const tone = new Float32Array(from); // 1 s of 500 Hz: 1000 zero crossings
    for (let i = 0; i < tone.length; i++) tone[i] = 0.5 * Math.sin((2 * Math.PI * 500 * i) / from + 0.1);
    const out = await resample(tone, from, 16000);
    expect(out.length).toBe(16000);
    expect(Math.abs(zeroCrossings(out) - 1000)).toBeLessThanOrEqual(4);
  });

  it('downmixes stereo 24-bit PCM by averaging the channels', () => {
    const frames = 4;
    const data = Buffer.alloc(frames * 6);
    for (let i = 0; i < frames; i++) {
      data.writeIntLE(4_194_304, i * 6, 3); // left  +0.5
      data.writeIntLE(-2_097_152, i * 6 + 3, 3); // right −0.25
    }
    const wav = parseWav(riff({ tag: 1, channels: 2, rate: 48000, bits: 24 }, data));
    expect(wav.sampleRate).toBe(48000);
    expect(wav.channels).toHaveLength(2);
    expect([...downmix(wav.channels)]).toEqual([0.125, 0.125, 0.125, 0.125]);
  });

  it('reads 32-bit float and 8-bit files, skipping unknown chunks', () => {
    const float = Buffer.alloc(8);
    float.writeFloatLE(0.75, 0);
    float.writeFloatLE(-1, 4);
    const list = Buffer.concat([Buffer.from('LIST', 'ascii'), Buffer.from([3, 0, 0, 0]), Buffer.from('abc\0', 'ascii')]); // odd size: padded
    expect([...parseWav(riff({ tag: 3, channels: 1, rate: 16000, bits: 32 }, float, [list])).channels[0]!]).toEqual([0.75, -1]);
    const eight = Buffer.from([128, 255, 0]);
    const decoded = parseWav(riff({ tag: 1, channels: 1, rate: 8000, bits: 8 }, eight)).channels[0]!;
    expect([...decoded]).toEqual([0, 127 / 128, -1]);
  });

  it('reads a streamed WAV whose data size was never filled in', () => {
    const data = Buffer.alloc(6);
    data.writeInt16LE(16384, 0);
    data.writeInt16LE(-16384, 2);
    data.writeInt16LE(1, 4);
    const bytes = riff({ tag: 1, channels: 1, rate: 16000, bits: 16 }, data);
    bytes.writeUInt32LE(0xffffffff, bytes.indexOf('data') + 4);
    expect([...parseWav(bytes).channels[0]!]).toEqual([0.5, -0.5, 1 / 32768]);
  });

  it('refuses what it cannot read, with a reason', () => {
    expect(() => parseWav(Buffer.from('not a wav file at all'))).toThrow(/RIFF/);
    expect(() => parseWav(riff({ tag: 2, channels: 1, rate: 16000, bits: 4 }, Buffer.alloc(4)))).toThrow(/format tag 2/);
    expect(() => parseWav(riff({ tag: 1, channels: 1, rate: 16000, bits: 12 }, Buffer.alloc(4)))).toThrow(/12 bits/);
  });
});

describe('WAV writing', () => {
  it('writes reply audio as mono 16-bit that reads back sample for sample', async () => {
    for (const rate of [16000, 24000]) {
      const samples = new Float32Array([0, 0.5, -0.5, 32767 / 32768, -1, 1 / 32768]);
      const file = path.join(tmp, `reply-${rate}.wav`);
      await writeWav(file, samples, rate);
      const back = parseWav(readFileSync(file));
      expect(back.sampleRate).toBe(rate);
      expect(back.channels).toHaveLength(1);
      expect([...back.channels[0]!]).toEqual([...samples]);
    }
  });

  it('clips out-of-range samples instead of wrapping', () => {
    const back = parseWav(encodeWav(new Float32Array([1.5, -2]), 16000)).channels[0]!;
    expect([...back]).toEqual([32767 / 32768, -1]);
  });
});
