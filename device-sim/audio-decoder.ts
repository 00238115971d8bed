/** The wearable's speaker path: reply packets (`opus` or `pcm16`, 16 or 24 kHz) → float32 samples. */
import type { AudioFormat } from '../protocol/index.ts';
import { createOpusDecoder } from '../audio/opus.ts';
import { concatFloat32, int16ToFloat32, pcm16ToFloat32 } from '../audio/pcm16.ts';

export interface ReplyDecoder {
  readonly format: AudioFormat;
  readonly sampleRate: number;
  /** Decodes one packet; throws when it is not a valid packet of this format. */
  decode(packet: Uint8Array): Float32Array;
  close(): void;
}

export function createReplyDecoder(format: AudioFormat, sampleRate: number): ReplyDecoder {
  if (format === 'pcm16') {
    return { format, sampleRate, decode: (packet) => pcm16ToFloat32(packet), close: () => {} };
  }
  const opus = createOpusDecoder(sampleRate);
  return { format, sampleRate, decode: (packet) => int16ToFloat32(opus.decode(packet)), close: () => opus.close() };
}

/** Collects decoded packets and joins them once at the end (no quadratic copying). */
export class AudioAccumulator {
  private readonly chunks: Float32Array[] = [];
  private total = 0;

  push(samples: Float32Array): void {
    this.chunks.push(samples);
    this.total += samples.length;
  }

  get length(): number {
    return this.total;
  }

  join(): Float32Array {
    return concatFloat32(this.chunks);
  }
}
