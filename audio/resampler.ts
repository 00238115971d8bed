/**
 * Sample-rate conversion (e.g. a TTS voice's 22050 Hz → the device's 16000/24000 Hz) with
 * libsamplerate's windowed-sinc converter (wasm port @alexanderolsen/libsamplerate-js).
 *
 * Each libsamplerate-js converter instantiates its own wasm module with ~8 MB of transfer
 * buffers, so converters are shared: one per (from, to) pair for the whole process. That
 * is safe because a whole clip is converted in one synchronous call of the stateless
 * "simple" API, and JavaScript never interleaves two such calls.
 */
import samplerate from '@alexanderolsen/libsamplerate-js';

// A webpack UMD bundle: Node's ESM loader sees only its default export.
const { create, ConverterType } = samplerate;
type SRC = Awaited<ReturnType<typeof create>>;

/**
 * SINC_FASTEST: still a band-limited sinc (80 % passband, ~97 dB stopband, so no aliasing as
 * with linear), at under half MEDIUM’s CPU (3.5–3.8 vs 7.5–10 ms per second of audio here): a whole
 * sentence is converted in one call on the event loop, so this cost is paid as latency.
 */
export const RESAMPLER_QUALITY = ConverterType.SRC_SINC_FASTEST;
/** libsamplerate refuses rates outside this range. */
const MAX_RATE = 192_000;
/**
 * The library's own path for clips over its 1,008,000-sample buffer returns truncated audio,
 * so longer clips are cut here: pieces of about this many input samples…
 */
const PIECE_INPUT_SAMPLES = 400_000;
/** …each converted with this much extra input on both sides, cut off again, so the sinc filter sees real neighbours. */
const PIECE_OVERLAP_SAMPLES = 4_096;

export interface Resampler {
  readonly fromRate: number;
  readonly toRate: number;
  /** Converts one whole clip (mono float32 in [-1, 1]); the result has ≈ length × toRate / fromRate samples. */
  resample(samples: Float32Array): Float32Array;
}

const converters = new Map<string, Promise<SRC>>();

function checkRate(rate: number): void {
  if (!Number.isInteger(rate) || rate < 1 || rate > MAX_RATE) throw new RangeError(`unsupported sample rate ${rate}`);
}

/** A resampler for one rate pair; built once per process and shared. */
export async function getResampler(fromRate: number, toRate: number): Promise<Resampler> {
  checkRate(fromRate);
  checkRate(toRate);
  if (fromRate === toRate) return { fromRate, toRate, resample: (samples) => samples };
  const key = `${fromRate}>${toRate}`;
  let converter = converters.get(key);
  if (!converter) {
    converter = create(1, fromRate, toRate, { converterType: RESAMPLER_QUALITY });
    converters.set(key, converter);
    converter.catch(() => converters.delete(key));
  }
  const src = await converter;
  return {
    fromRate,
    toRate,
    resample(samples) {
      if (samples.length === 0) return new Float32Array(0);
      if (samples.length <= PIECE_INPUT_SAMPLES + 2 * PIECE_OVERLAP_SAMPLES) return src.simple(samples);
      return resampleInPieces(src, samples, fromRate, toRate);
    },
  };
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/**
 * Converts a long clip piece by piece with the stateless simple API. Piece boundaries and
 * overlaps are multiples of `step` input samples, which map to a whole number of output
 * samples, so the kept parts join without a dropped or repeated sample.
 */
function resampleInPieces(src: SRC, samples: Float32Array, fromRate: number, toRate: number): Float32Array {
  const step = fromRate / gcd(fromRate, toRate);
  const outPerStep = toRate / gcd(fromRate, toRate);
  const toOut = (inputSamples: number) => (inputSamples / step) * outPerStep;
  const piece = Math.floor(PIECE_INPUT_SAMPLES / step) * step || step;
  const overlap = Math.ceil(PIECE_OVERLAP_SAMPLES / step) * step;
  const parts: Float32Array[] = [];
  for (let start = 0; start < samples.length; start += piece) {
    const end = Math.min(start + piece, samples.length);
    const from = Math.max(0, start - overlap);
    const to = Math.min(samples.length, end + overlap);
    const converted = src.simple(samples.subarray(from, to));
    const keepFrom = toOut(start - from);
    const keepTo = end === samples.length ? converted.length : keepFrom + toOut(end - start);
    parts.push(converted.subarray(keepFrom, keepTo));
  }
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** Converts one clip from `fromRate` to `toRate`. */
export async function resample(samples: Float32Array, fromRate: number, toRate: number): Promise<Float32Array> {
  return (await getResampler(fromRate, toRate)).resample(samples);
}
