/**
 * The wearable's microphone path: float32 16 kHz samples → frames of the chosen duration →
 * one `opus` or `pcm16` packet per frame (docs/protocol.md §2).
 */
import { checkMicParams, MIC_SAMPLE_RATE, type AudioFormat } from '../protocol/index.ts';
import { createOpusEncoder } from '../audio/opus.ts';
import { chunkSamples, float32ToInt16, float32ToPcm16 } from '../audio/pcm16.ts';

export type MicCodec = AudioFormat;

/** A low-power wearable's typical Opus voice bitrate: clear speech, ~180 bytes per 60 ms frame. */
export const MIC_OPUS_BITRATE = 24_000;

/** Samples in one microphone frame of `frameMs`. */
export function micFrameSamples(frameMs: number): number {
  return (MIC_SAMPLE_RATE * frameMs) / 1000;
}

/** How many frames a device sends for `sampleCount` samples (the last one padded with silence). */
export function micFrameCount(sampleCount: number, frameMs: number): number {
  return Math.ceil(sampleCount / micFrameSamples(frameMs));
}

/** Splits audio into frames; the last one is padded with silence to full length, as firmware does. */
export function splitFrames(samples: Float32Array, frameMs: number): Float32Array[] {
  return chunkSamples(samples, micFrameSamples(frameMs));
}

/** Throws a readable error when the protocol does not allow this codec/frame combination. */
export function assertMicParams(codec: MicCodec, frameMs: number): void {
  const check = checkMicParams({ format: codec, sample_rate: MIC_SAMPLE_RATE, channels: 1, frame_duration: frameMs });
  if (!check.ok) throw new RangeError(check.reason);
}

export interface MicEncoder {
  readonly codec: MicCodec;
  readonly frameMs: number;
  /** Encodes one frame of exactly `micFrameSamples(frameMs)` samples. */
  encode(frame: Float32Array): Uint8Array;
  close(): void;
}

/** A stateful encoder for one stream of frames (Opus carries state from frame to frame). */
export function createMicEncoder(codec: MicCodec, frameMs: number): MicEncoder {
  assertMicParams(codec, frameMs);
  const frameSize = micFrameSamples(frameMs);
  const checkLength = (frame: Float32Array) => {
    if (frame.length !== frameSize) throw new RangeError(`a ${frameMs} ms frame has ${frameSize} samples, got ${frame.length}`);
  };
  if (codec === 'pcm16') {
    return {
      codec,
      frameMs,
      encode: (frame) => (checkLength(frame), float32ToPcm16(frame)),
      close: () => {},
    };
  }
  const opus = createOpusEncoder(MIC_SAMPLE_RATE, { bitrate: MIC_OPUS_BITRATE });
  return {
    codec,
    frameMs,
    encode: (frame) => (checkLength(frame), opus.encode(float32ToInt16(frame))),
    close: () => opus.close(),
  };
}

/** A whole utterance, already encoded: encode once, then stream it from any number of devices. */
export interface EncodedMic {
  readonly codec: MicCodec;
  readonly frameMs: number;
  readonly packets: readonly Uint8Array[];
  /** Length of the source audio (before padding the last frame). */
  readonly durationMs: number;
}

export function encodeMic(samples: Float32Array, codec: MicCodec, frameMs: number): EncodedMic {
  const encoder = createMicEncoder(codec, frameMs);
  try {
    const packets = splitFrames(samples, frameMs).map((frame) => encoder.encode(frame));
    return { codec, frameMs, packets, durationMs: (samples.length * 1000) / MIC_SAMPLE_RATE };
  } finally {
    encoder.close();
  }
}
