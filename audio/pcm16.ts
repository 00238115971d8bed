/**
 * Signed 16-bit little-endian PCM ↔ float32 in [-1, 1], and framing helpers.
 * The scale is exactly 1/32768 both ways, so int16 → float32 → int16 is bit-exact.
 */

export const PCM16_SCALE = 32768;
export const PCM16_BYTES_PER_SAMPLE = 2;

/** pcm16 LE bytes → int16 samples. The byte length must be even. */
export function pcm16BytesToInt16(bytes: Uint8Array): Int16Array {
  if (bytes.length % PCM16_BYTES_PER_SAMPLE !== 0) throw new RangeError(`pcm16 packet of ${bytes.length} bytes is not a whole number of samples`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Int16Array(bytes.length / PCM16_BYTES_PER_SAMPLE);
  for (let i = 0; i < out.length; i++) out[i] = view.getInt16(i * 2, true);
  return out;
}

/** int16 samples → pcm16 LE bytes. */
export function int16ToPcm16Bytes(samples: Int16Array): Uint8Array {
  const out = new Uint8Array(samples.length * PCM16_BYTES_PER_SAMPLE);
  const view = new DataView(out.buffer);
  for (let i = 0; i < samples.length; i++) view.setInt16(i * 2, samples[i]!, true);
  return out;
}

export function int16ToFloat32(samples: Int16Array): Float32Array {
  const out = new Float32Array(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = samples[i]! / PCM16_SCALE;
  return out;
}

/** float32 → int16 with rounding; values outside [-1, 1) are clipped rather than wrapped. */
export function float32ToInt16(samples: Float32Array): Int16Array {
  const out = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) {
    const v = Math.round(samples[i]! * PCM16_SCALE);
    out[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : Number.isNaN(v) ? 0 : v;
  }
  return out;
}

export function pcm16ToFloat32(bytes: Uint8Array): Float32Array {
  return int16ToFloat32(pcm16BytesToInt16(bytes));
}

export function float32ToPcm16(samples: Float32Array): Uint8Array {
  return int16ToPcm16Bytes(float32ToInt16(samples));
}

/** Samples in `ms` milliseconds at `rate` (whole samples; frame sizes used here divide evenly). */
export function samplesForMs(rate: number, ms: number): number {
  return Math.round((rate * ms) / 1000);
}

/** Duration in ms of `samples` samples at `rate`. */
export function msForSamples(rate: number, samples: number): number {
  return (samples * 1000) / rate;
}

/** Splits samples into frames of exactly `frameSamples`; the last one is padded with silence. */
export function chunkSamples(samples: Float32Array, frameSamples: number): Float32Array[] {
  if (!Number.isInteger(frameSamples) || frameSamples <= 0) throw new RangeError(`bad frame size ${frameSamples}`);
  const frames: Float32Array[] = [];
  for (let start = 0; start < samples.length; start += frameSamples) {
    const end = start + frameSamples;
    if (end <= samples.length) {
      frames.push(samples.slice(start, end));
    } else {
      const last = new Float32Array(frameSamples);
      last.set(samples.subarray(start));
      frames.push(last);
    }
  }
  return frames;
}

export function concatFloat32(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
