/** The wearable's speaker path: reply packets (`opus` or `pcm16`, 16 or 24 kHz) → float32 samples. */
import type { AudioFormat } from '../protocol/index.ts';
import { int16ToFloat32, pcm16ToFloat32 } from '../audio/pcm16.ts';
import { OpusCodec } from './opus.ts';

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
  const opus = new OpusCodec(sampleRate);
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
    const out = new Float32Array(this.total);
    let at = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, at);
      at += chunk.length;
    }
    return out;
  }
}
