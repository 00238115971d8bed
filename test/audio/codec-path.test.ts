import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../protocol/index.ts';
import { createMicDecoder } from '../../gateway/audio/mic-decoder.ts';
import { createOpusDecoder, createOpusEncoder } from '../../audio/opus.ts';
import { float32ToInt16, int16ToFloat32, int16ToPcm16Bytes, pcm16ToFloat32 } from '../../audio/pcm16.ts';
import { createReplyEncoder } from '../../gateway/audio/reply-encoder.ts';
import { dominantFrequency, rms, sine, snrDb } from './signal.ts';
import { readWavPcm16, SPEECH_60S_WAV } from './wav.ts';

/** The mic path's quality floor for real speech at the default 24 kbit/s (measured ≈ 23 dB). */
const OPUS_SPEECH_SNR_FLOOR_DB = 15;

describe('mic decoder', () => {
  it('pcm16: bit-exact 16 kHz float32', () => {
    const { samples } = readWavPcm16(SPEECH_60S_WAV);
    const packet = int16ToPcm16Bytes(samples.subarray(16000, 16000 + 960));
    const out = createMicDecoder('pcm16').decode(packet);
    expect(Array.from(float32ToInt16(out))).toEqual(Array.from(samples.subarray(16000, 16960)));
  });

  it(`opus: real speech survives the codec with SNR above ${OPUS_SPEECH_SNR_FLOOR_DB} dB`, () => {
    const { samples } = readWavPcm16(SPEECH_60S_WAV);
    const source = samples.subarray(0, 16000 * 10);
    const enc = createOpusEncoder(16000);
    const mic = createMicDecoder('opus');
    const out: Float32Array[] = [];
    for (let i = 0; i + 960 <= source.length; i += 960) {
      const packet = enc.encode(source.subarray(i, i + 960));
      expect(mic.durationMs(packet)).toBe(60);
      out.push(mic.decode(packet));
    }
    const decoded = Float32Array.from(out.flatMap((f) => Array.from(f)));
    const { snr } = snrDb(int16ToFloat32(source), decoded);
    expect(snr).toBeGreaterThan(OPUS_SPEECH_SNR_FLOOR_DB);
  });

  it('invalid packets become unsupported_audio', () => {
    const opus = createMicDecoder('opus');
    const pcm = createMicDecoder('pcm16');
    for (const [dec, packet] of [
      [opus, Uint8Array.from([0x03, 0x00])],
      [opus, new Uint8Array(0)],
      [pcm, new Uint8Array(3)],
      [pcm, new Uint8Array(0)],
    ] as const) {
      try {
        dec.decode(packet);
        expect.unreachable('should have thrown');
      } catch (err) {
        expect(err).toBeInstanceOf(ProtocolError);
        expect((err as ProtocolError).code).toBe('unsupported_audio');
      }
    }
    expect(pcm.durationMs(new Uint8Array(640))).toBe(20);
    expect(pcm.durationMs(new Uint8Array(3))).toBeNull();
  });
});

describe('reply encoder', () => {
  const tts = { samples: sine(600, 22050, 1.05, 0.5), sampleRate: 22050 };

  it('pcm16 at 24 kHz: fixed 60 ms frames, last one padded, the tone kept', async () => {
    const enc = createReplyEncoder({ format: 'pcm16', sample_rate: 24000, channels: 1, frame_duration: 60 });
    const packets = await enc.encodeClip(tts);
    expect(packets).toHaveLength(Math.ceil((1.05 * 24000) / 1440)); // 18 frames, the last one padded
    for (const p of packets) expect(p.length).toBe(1440 * 2);
    const pcm = Float32Array.from(packets.flatMap((p) => Array.from(pcm16ToFloat32(p))));
    expect(dominantFrequency(pcm, 24000, [400, 500, 600, 700])).toBe(600);
    expect(rms(pcm, 2400, 21600)).toBeCloseTo(0.5 / Math.SQRT2, 2);
    expect(rms(pcm, 25300, 25920)).toBe(0); // the padding
  });

  it('opus at 16 kHz in 20 ms frames decodes back to the tone', async () => {
    const enc = createReplyEncoder({ format: 'opus', sample_rate: 16000, channels: 1, frame_duration: 20 });
    const packets = await enc.encodeClip(tts);
    expect(packets).toHaveLength(Math.ceil((1.05 * 16000) / 320));
    const dec = createOpusDecoder(16000);
    const pcm = int16ToFloat32(Int16Array.from(packets.flatMap((p) => Array.from(dec.decode(p)))));
    expect(pcm.length).toBe(packets.length * 320);
    expect(dominantFrequency(pcm, 16000, [400, 500, 600, 700])).toBe(600);
    const expected = await createReplyEncoder({ format: 'pcm16', sample_rate: 16000, channels: 1, frame_duration: 20 }).toFrames(tts);
    expect(snrDb(Float32Array.from(expected.flatMap((f) => Array.from(f))), pcm).snr).toBeGreaterThan(10);
  });

  it('refuses a frame of the wrong size', () => {
    const enc = createReplyEncoder({ format: 'opus', sample_rate: 24000, channels: 1, frame_duration: 60 });
    expect(enc.frameSamples).toBe(1440);
    expect(() => enc.encode(new Float32Array(100))).toThrow(RangeError);
  });
});
