/**
 * Reply audio for one device: TTS output (float32 at the voice's rate) → the device's
 * reply rate → fixed `frame_duration` frames (the last one padded with silence) → one
 * packet per frame in the codec the device chose in `hello` (docs/protocol.md §2).
 */
import type { GatewayAudioParams } from '../../protocol/index.ts';
import type { SynthesizedAudio } from '../speech/types.ts';
import { createOpusEncoder, type OpusEncoder } from '../../audio/opus.ts';
import { chunkSamples, concatFloat32, float32ToInt16, float32ToPcm16, samplesForMs } from '../../audio/pcm16.ts';
import { getResampler } from '../../audio/resampler.ts';

export interface ReplyEncoder {
  readonly params: GatewayAudioParams;
  /** Samples in one frame at the device rate. */
  readonly frameSamples: number;
  /** Resamples a clip to the device rate and cuts it into frames of exactly `frameSamples`. */
  toFrames(audio: SynthesizedAudio): Promise<Float32Array[]>;
  /**
   * The same frames with the first `headFrames` ready first: only the start of the clip is
   * resampled before they are, the rest when `rest()` is called (resampler.ts, resampleHeadFirst).
   */
  toFramesHeadFirst(audio: SynthesizedAudio, headFrames: number): Promise<{ head: Float32Array[]; rest(): Float32Array[] }>;
  /** Encodes one frame as one packet (opus or pcm16 LE). */
  encode(frame: Float32Array): Uint8Array;
  /** Both steps: the packets of a whole clip. */
  encodeClip(audio: SynthesizedAudio): Promise<Uint8Array[]>;
}

export interface ReplyEncoderOptions {
  opusBitrate?: number;
}

/**
 * One encoder per turn or session: the Opus encoder carries state from frame to frame. The
 * gateway runs these on its codec workers (codec-pool.ts); tools and tests may run one inline.
 */
export function createReplyEncoder(params: GatewayAudioParams, options: ReplyEncoderOptions = {}): ReplyEncoder {
  const rate = params.sample_rate;
  const frameSamples = samplesForMs(rate, params.frame_duration);
  let opus: OpusEncoder | undefined;
  if (params.format === 'opus') opus = createOpusEncoder(rate, { bitrate: options.opusBitrate });

  const encoder: ReplyEncoder = {
    params,
    frameSamples,
    async toFrames(audio) {
      const resampler = await getResampler(audio.sampleRate, rate);
      return chunkSamples(resampler.resample(audio.samples), frameSamples);
    },
    async toFramesHeadFirst(audio, headFrames) {
      const resampler = await getResampler(audio.sampleRate, rate);
      const split = resampler.resampleHeadFirst(audio.samples, headFrames * frameSamples);
      const whole = split.head.length - (split.head.length % frameSamples);
      return {
        head: chunkSamples(split.head.subarray(0, whole), frameSamples),
        // What is left of the head (less than a frame) leads the rest.
        rest: () => chunkSamples(concatFloat32([split.head.subarray(whole), split.rest()]), frameSamples),
      };
    },
    encode(frame) {
      if (frame.length !== frameSamples) throw new RangeError(`reply frame of ${frame.length} samples, expected ${frameSamples}`);
      return opus ? opus.encode(float32ToInt16(frame)) : float32ToPcm16(frame);
    },
    async encodeClip(audio) {
      return (await encoder.toFrames(audio)).map((frame) => encoder.encode(frame));
    },
  };
  return encoder;
}
