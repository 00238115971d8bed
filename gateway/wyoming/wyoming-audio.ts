/**
 * Audio as Wyoming carries it: raw little-endian PCM whose rate, width (bytes per sample)
 * and channels travel with every chunk. In: any width 1–4 and channel count mixed down to
 * mono float32 (pcm16 mono goes through pcm16.ts, bit-exact). Out: float32 → pcm16 mono
 * chunks of 1024 samples, the size wyoming-piper sends.
 */
import { float32ToPcm16, pcm16ToFloat32 } from '../../audio/pcm16.ts';
import { WyomingRequestError } from './wyoming-errors.ts';

/** Samples per outgoing audio-chunk (wyoming-piper's --samples-per-chunk default). */
export const SAMPLES_PER_CHUNK = 1024;
/**
 * Rates accepted from clients: telephone audio up to studio microphones. Audio not at 16 kHz is
 * kept until audio-stop, so the top rate also bounds that memory (120 s at 48 kHz: 23 MB).
 */
export const MIN_RATE = 8000;
export const MAX_RATE = 48_000;
export const MAX_CHANNELS = 8;

export interface AudioFormat {
  rate: number;
  width: number;
  channels: number;
}

/** Reads rate/width/channels from an audio event's data; every audio-chunk must carry them. */
export function audioFormatOf(data: Record<string, unknown>, event: string): AudioFormat {
  const { rate, width, channels } = data;
  const whole = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
  if (!whole(rate) || !whole(width) || !whole(channels)) {
    throw new WyomingRequestError('bad_audio', `${event} must carry integer rate, width and channels`);
  }
  if (rate < MIN_RATE || rate > MAX_RATE) throw new WyomingRequestError('bad_audio', `sample rate ${rate} Hz is outside ${MIN_RATE}–${MAX_RATE}`);
  if (width < 1 || width > 4) throw new WyomingRequestError('bad_audio', `sample width ${width} bytes is not 1, 2, 3 or 4`);
  if (channels < 1 || channels > MAX_CHANNELS) throw new WyomingRequestError('bad_audio', `${channels} channels is outside 1–${MAX_CHANNELS}`);
  return { rate, width, channels };
}

function sampleAt(bytes: Buffer, offset: number, width: number): number {
  switch (width) {
    case 1:
      return (bytes[offset]! - 128) / 128; // 8-bit WAV PCM is unsigned
    case 2:
      return bytes.readInt16LE(offset) / 32768;
    case 3:
      return bytes.readIntLE(offset, 3) / 8388608;
    default:
      return bytes.readInt32LE(offset) / 2147483648;
  }
}

/** PCM bytes in `format` → mono float32 in [-1, 1] (channels averaged). */
export function pcmToMonoFloat32(bytes: Buffer, format: AudioFormat): Float32Array {
  const frameBytes = format.width * format.channels;
  if (bytes.length % frameBytes !== 0) {
    throw new WyomingRequestError('bad_audio', `audio-chunk of ${bytes.length} bytes is not a whole number of ${format.channels}-channel ${format.width}-byte frames`);
  }
  if (format.width === 2 && format.channels === 1) return pcm16ToFloat32(bytes);
  const frames = bytes.length / frameBytes;
  const out = new Float32Array(frames);
  for (let f = 0; f < frames; f++) {
    let sum = 0;
    for (let c = 0; c < format.channels; c++) sum += sampleAt(bytes, f * frameBytes + c * format.width, format.width);
    out[f] = sum / format.channels;
  }
  return out;
}

/** Mono float32 → pcm16 chunks of SAMPLES_PER_CHUNK samples (the last one shorter). */
export function pcm16Chunks(samples: Float32Array): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let start = 0; start < samples.length; start += SAMPLES_PER_CHUNK) {
    chunks.push(float32ToPcm16(samples.subarray(start, start + SAMPLES_PER_CHUNK)));
  }
  return chunks;
}
