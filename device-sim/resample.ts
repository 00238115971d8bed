/** Sample-rate conversion with libsamplerate (wasm), for WAV files that are not already 16 kHz. */
import LibSampleRate from '@alexanderolsen/libsamplerate-js';

/** Medium-quality sinc: transparent for speech recognition, several times faster than the best setting. */
const CONVERTER = LibSampleRate.ConverterType.SRC_SINC_MEDIUM_QUALITY;

/** Resamples mono audio; returns the input itself when the rates already match. */
export async function resample(samples: Float32Array, fromRate: number, toRate: number): Promise<Float32Array> {
  if (!(fromRate > 0 && toRate > 0)) throw new RangeError(`sample rates must be positive, got ${fromRate} → ${toRate}`);
  if (fromRate === toRate) return samples;
  if (samples.length === 0) return new Float32Array(0);
  const converter = await LibSampleRate.create(1, fromRate, toRate, { converterType: CONVERTER });
  try {
    // `simple` copies out of the wasm heap, so the result outlives `destroy`.
    return converter.simple(samples);
  } finally {
    converter.destroy();
  }
}
