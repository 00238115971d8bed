import { describe, expect, it } from 'vitest';
import {
  bytesToPcm16,
  createMicEncoder,
  createReplyDecoder,
  encodeMic,
  floatToPcm16,
  micFrameCount,
  OpusCodec,
  pcm16ToBytes,
  pcm16ToFloat,
  readMicWav,
  splitFrames,
} from '../../device-sim/index.ts';
import path from 'node:path';
import { TTS_SAMPLES_DIR } from '../helpers/fixture-paths.ts';

const SPEECH_16K = path.join(TTS_SAMPLES_DIR, 'mms-eng.wav');

/** SNR in dB of `decoded` against `reference`, at the codec delay (searched) that fits best. */
function snrDb(reference: Float32Array, decoded: Float32Array, maxDelay: number): number {
  let best = -Infinity;
  for (let delay = 0; delay <= maxDelay; delay++) {
    let signal = 0;
    let noise = 0;
    for (let i = 0; i + delay < decoded.length && i < reference.length; i++) {
      const r = reference[i]!;
      signal += r * r;
      noise += (r - decoded[i + delay]!) ** 2;
    }
    best = Math.max(best, 10 * Math.log10(signal / noise));
  }
  return best;
}

function concat(chunks: Float32Array[]): Float32Array {
  const out = new Float32Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) out.set(c, (at += c.length) - c.length);
  return out;
}

describe('pcm16', () => {
  it('round-trips every int16 value bit-exactly through float and bytes', () => {
    const all = new Int16Array(65536);
    for (let i = 0; i < all.length; i++) all[i] = i - 32768;
    expect(floatToPcm16(pcm16ToFloat(all))).toEqual(all);
    expect(bytesToPcm16(pcm16ToBytes(all))).toEqual(all);
  });

  it('writes little-endian packets', () => {
    expect([...pcm16ToBytes(new Int16Array([0x1234, -2]))]).toEqual([0x34, 0x12, 0xfe, 0xff]);
    expect(() => bytesToPcm16(new Uint8Array(3))).toThrow(/whole number of samples/);
  });

  it('encodes microphone frames that decode back to the same samples', async () => {
    const speech = await readMicWav(SPEECH_16K);
    const encoder = createMicEncoder('pcm16', 40);
    const decoder = createReplyDecoder('pcm16', 16000);
    const frames = splitFrames(speech, 40);
    const packets = frames.map((f) => encoder.encode(f));
    expect(packets.every((p) => p.length === 1280)).toBe(true); // 40 ms × 16 kHz × 2 bytes
    const back = concat(packets.map((p) => decoder.decode(p)));
    expect(back.subarray(0, speech.length)).toEqual(speech); // the WAV was 16-bit: exact
    expect([...back.subarray(speech.length)].every((v) => v === 0)).toBe(true); // padding is silence
  });
});

describe('opus', () => {
  it('encodes speech that decodes above an SNR floor, one packet per frame', async () => {
    const speech = await readMicWav(SPEECH_16K);
    for (const frameMs of [20, 40, 60]) {
      const mic = encodeMic(speech, 'opus', frameMs);
      expect(mic.packets).toHaveLength(micFrameCount(speech.length, frameMs));
      const decoder = createReplyDecoder('opus', 16000);
      const decoded = concat(mic.packets.map((p) => decoder.decode(p)));
      decoder.close();
      expect(decoded.length).toBe(mic.packets.length * 16 * frameMs);
      const snr = snrDb(speech, decoded, 400);
      // Opus is perceptual, so waveform SNR is modest; 24 kbit/s speech measures about 10 dB here. Garbage would be ≤ 0.
      expect(snr).toBeGreaterThan(6);
      const meanBytes = mic.packets.reduce((n, p) => n + p.length, 0) / mic.packets.length;
      expect(meanBytes).toBeLessThan((24_000 / 8) * (frameMs / 1000) * 1.5); // the bitrate asked for, roughly
    }
  });

  it('decodes reply audio at 24 kHz', () => {
    const codec = new OpusCodec(24000);
    const tone = new Int16Array(1440);
    for (let i = 0; i < tone.length; i++) tone[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 24000));
    const decoder = createReplyDecoder('opus', 24000);
    const out = concat(Array.from({ length: 10 }, () => decoder.decode(codec.encode(tone))));
    expect(out.length).toBe(14400);
    const rms = Math.sqrt(out.subarray(4000).reduce((s, v) => s + v * v, 0) / (out.length - 4000));
    expect(rms).toBeGreaterThan(0.1); // 8000/32768/√2 ≈ 0.17
    codec.close();
    decoder.close();
  });

  it('keeps working with hundreds of codecs alive in one process', () => {
    const codecs = Array.from({ length: 600 }, () => new OpusCodec(16000));
    const frame = new Int16Array(960);
    for (let i = 0; i < frame.length; i++) frame[i] = Math.round(6000 * Math.sin((2 * Math.PI * 300 * i) / 16000));
    for (const codec of [codecs[0]!, codecs[299]!, codecs[599]!]) {
      const decoded = codec.decode(codec.encode(frame));
      expect(decoded.length).toBe(960);
    }
    for (const codec of codecs) codec.close();
    expect(() => codecs[0]!.encode(frame)).toThrow(/closed/);
  });

  it('refuses frames the protocol does not allow', () => {
    expect(() => createMicEncoder('opus', 30)).toThrow(/20, 40, 60/);
    expect(() => createMicEncoder('pcm16', 130)).toThrow(/20–120/);
    const encoder = createMicEncoder('opus', 20);
    expect(() => encoder.encode(new Float32Array(100))).toThrow(/320 samples/);
    encoder.close();
  });
});
