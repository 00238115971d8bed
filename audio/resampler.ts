/**
 * Sample-rate conversion of whole clips (e.g. a voice's 22050 Hz → 16000/24000 Hz, a WAV
 * file's 44100 Hz → 16000 Hz) with libsamplerate's windowed-sinc converter (wasm port
 * @alexanderolsen/libsamplerate-js). Clips of any length come out whole.
 *
 * Each libsamplerate-js converter instantiates its own wasm module with ~8 MB of transfer
 * buffers. Converters between the rates the gateway itself runs at (its recognizers', its
 * voices' and its devices': see `keepConvertersFor`) are shared, one per (from, to) pair
 * per thread, which is safe because a whole clip is converted in one synchronous call of
 * the stateless "simple" API and JavaScript never interleaves two such calls. Every other
 * pair (an uploader picks the rate of a file) is converted by one scratch converter per
 * thread, set to the pair's rates right before each call: a cache keyed by rates from outside
 * grew by ~8 MB per rate, forever, and converters built per call and dropped were freed only
 * whenever the garbage collector came round to their wasm memory (40 uploads at 40 rates
 * still grew a gateway by 150 MB). So a thread holds its cached pairs plus one converter.
 */
import samplerate from '@alexanderolsen/libsamplerate-js';
import { concatFloat32 } from './pcm16.ts';

// A webpack UMD bundle: Node's ESM loader sees only its default export.
const { create, ConverterType } = samplerate;
type SRC = Awaited<ReturnType<typeof create>>;

/**
 * SINC_FASTEST: still a band-limited sinc (80 % passband, ~97 dB stopband, so no aliasing as
 * with linear), at under half MEDIUM’s CPU (3.5–3.8 vs 7.5–10 ms per second of audio here): a whole
 * sentence is converted in one call (in the gateway, on a codec worker), so this cost is paid as latency.
 */
export const RESAMPLER_QUALITY = ConverterType.SRC_SINC_FASTEST;
/** libsamplerate refuses rates outside this range. */
const MAX_RATE = 192_000;
/**
 * libsamplerate-js moves audio through transfer buffers of this many samples. A call whose
 * input or output is longer silently takes another path (its stateful `full` API in 100 ms
 * chunks, never flushed) that returns truncated audio: 24 s of 16 kHz → 48 kHz came back as
 * 4,860 samples. So no call made here is ever longer, in or out; longer clips are cut into pieces…
 */
const TRANSFER_BUFFER_SAMPLES = 1_008_000;
/** …(a margin for the library's float rounding of the output length)… */
const TRANSFER_MARGIN_SAMPLES = 64;
/** …each converted with this much extra input on both sides, cut off again, so the sinc filter sees real neighbours. */
const PIECE_OVERLAP_SAMPLES = 4_096;
/**
 * The simple API sometimes stops one sample short of round(n × to / from) (e.g. 1 s at 22050 Hz →
 * 15,999 samples at 16 kHz). Past the clip's end it reads zeros anyway, so the input gets zeros
 * worth this many output samples appended, which changes no sample, and the result is cut to length.
 */
const PAD_OUTPUT_SAMPLES = 4;

export interface Resampler {
  readonly fromRate: number;
  readonly toRate: number;
  /** Converts one whole clip (mono float32 in [-1, 1]) of any length into exactly round(length × toRate / fromRate) samples. */
  resample(samples: Float32Array): Float32Array;
  /**
   * The same conversion with its start ready first: at least `headSamples` output samples at
   * once (`head`), the rest when asked (`rest()`), so the start costs only its own length. The
   * clip is converted as two pieces (as a long clip is, past the transfer buffers): head and rest
   * join without a dropped or repeated sample and are as many samples as `resample` gives.
   */
  resampleHeadFirst(samples: Float32Array, headSamples: number): { head: Float32Array; rest(): Float32Array };
}

/** Rates whose pairs are cached: 16 kHz (recognizers, devices), 24 kHz (devices, OpenAI pcm), 22050 Hz (espeak-ng, most piper voices). */
export const DEFAULT_CACHED_RATES: readonly number[] = [16000, 22050, 24000];

const converters = new Map<string, Promise<SRC>>();
const cachedRates = new Set<number>(DEFAULT_CACHED_RATES);
/** The one converter of every uncached pair (its rates are set per call). */
let scratch: Promise<SRC> | undefined;
const stats = { built: 0, conversions: 0 };

/**
 * Adds the rates this thread's engines and devices run at (e.g. a voice's own rate) to
 * those whose converters are kept. Only pairs of such rates are cached.
 */
export function keepConvertersFor(rates: Iterable<number>): void {
  for (const rate of rates) {
    checkRate(rate);
    cachedRates.add(rate);
  }
}

/** What this thread's resampler holds and has done (for tests and health). */
export function resamplerStats(): { converters: number; built: number; conversions: number } {
  return { converters: converters.size + (scratch ? 1 : 0), ...stats };
}

function build(fromRate: number, toRate: number): Promise<SRC> {
  stats.built++;
  return create(1, fromRate, toRate, { converterType: RESAMPLER_QUALITY });
}

/**
 * Points the scratch converter at a pair. The "simple" API takes the rates per call; the
 * setters re-initialise the converter's state to match, and `ratio` (which the library does
 * not update itself) decides whether it would take its truncating long-clip path.
 */
function retarget(src: SRC, fromRate: number, toRate: number): void {
  if (src.inputSampleRate !== fromRate) src.inputSampleRate = fromRate;
  if (src.outputSampleRate !== toRate) src.outputSampleRate = toRate;
  src.ratio = toRate / fromRate;
}

function checkRate(rate: number): void {
  if (!Number.isInteger(rate) || rate < 1 || rate > MAX_RATE) throw new RangeError(`unsupported sample rate ${rate}`);
}

/** A resampler for one rate pair: the thread's own converter for it when both rates are cached ones, else the scratch converter. */
export async function getResampler(fromRate: number, toRate: number): Promise<Resampler> {
  checkRate(fromRate);
  checkRate(toRate);
  if (fromRate === toRate) {
    return {
      fromRate,
      toRate,
      resample: (samples) => samples,
      resampleHeadFirst: (samples, headSamples) => ({ head: samples.subarray(0, headSamples), rest: () => samples.subarray(headSamples) }),
    };
  }
  const cached = cachedRates.has(fromRate) && cachedRates.has(toRate);
  let converter: Promise<SRC>;
  if (cached) {
    const key = `${fromRate}>${toRate}`;
    converter = converters.get(key) ?? build(fromRate, toRate);
    if (!converters.has(key)) {
      converters.set(key, converter);
      converter.catch(() => converters.delete(key));
    }
  } else {
    converter = scratch ??= build(fromRate, toRate);
    converter.catch(() => (scratch = undefined));
  }
  const src = await converter;
  const maxInput = maxCallInput(fromRate, toRate);
  const padInput = Math.ceil((PAD_OUTPUT_SAMPLES * fromRate) / toRate);
  const { step, outPerStep, overlap } = pieceGeometry(fromRate, toRate, maxInput);
  const pad = (samples: Float32Array) => {
    const padded = new Float32Array(samples.length + padInput);
    padded.set(samples);
    return padded;
  };
  /** Converts `padded` (all of it, in pieces when long); the scratch converter is pointed at this pair first (another may have used it since). */
  const convert = (padded: Float32Array) => {
    if (!cached) retarget(src, fromRate, toRate);
    return padded.length <= maxInput ? src.simple(padded) : resampleInPieces(src, padded, fromRate, toRate, maxInput);
  };
  const resampler: Resampler = {
    fromRate,
    toRate,
    resample(samples) {
      stats.conversions++;
      if (samples.length === 0) return new Float32Array(0);
      const length = Math.round((samples.length * toRate) / fromRate);
      return convert(pad(samples)).slice(0, length);
    },
    resampleHeadFirst(samples, headSamples) {
      const length = Math.round((samples.length * toRate) / fromRate);
      // The head piece ends on a whole step, so both pieces map to whole output samples.
      const headIn = Math.ceil(Math.max(1, headSamples) / outPerStep) * step;
      if (headIn + overlap >= samples.length || headIn + overlap > maxInput) {
        const whole = resampler.resample(samples);
        return { head: whole, rest: () => new Float32Array(0) };
      }
      stats.conversions++;
      const padded = pad(samples);
      const headOut = (headIn / step) * outPerStep;
      if (!cached) retarget(src, fromRate, toRate);
      const head = src.simple(padded.subarray(0, headIn + overlap)).slice(0, headOut);
      return {
        head,
        rest() {
          const from = Math.max(0, headIn - overlap); // a whole number of steps too
          const keepFrom = ((headIn - from) / step) * outPerStep;
          return convert(padded.subarray(from)).slice(keepFrom, keepFrom + length - headOut);
        },
      };
    },
  };
  return resampler;
}

/** Piece boundaries fall on whole steps (input samples that map to a whole number of output samples); pieces overlap by `overlap`. */
function pieceGeometry(fromRate: number, toRate: number, maxInput: number): { step: number; outPerStep: number; overlap: number } {
  const step = fromRate / gcd(fromRate, toRate);
  const outPerStep = toRate / gcd(fromRate, toRate);
  const overlap = Math.ceil(Math.min(PIECE_OVERLAP_SAMPLES, Math.floor(maxInput / 8)) / step) * step;
  return { step, outPerStep, overlap };
}

/** The longest input one library call may take so that neither its input nor its output outgrows the transfer buffers. */
function maxCallInput(fromRate: number, toRate: number): number {
  return Math.floor((TRANSFER_BUFFER_SAMPLES - TRANSFER_MARGIN_SAMPLES) / Math.max(1, toRate / fromRate));
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/**
 * Converts a long clip piece by piece with the stateless simple API. Piece boundaries and
 * overlaps are multiples of `step` input samples, which map to a whole number of output
 * samples, so the kept parts join without a dropped or repeated sample. A piece with its
 * overlaps never exceeds `maxInput`; for any two rates up to 192 kHz that leaves room for a
 * piece (`maxInput` ≥ 5.25 × fromRate ≥ 5.25 × step, and the overlap is at most an eighth of it or one step).
 */
function resampleInPieces(src: SRC, samples: Float32Array, fromRate: number, toRate: number, maxInput: number): Float32Array {
  const { step, outPerStep, overlap } = pieceGeometry(fromRate, toRate, maxInput);
  const toOut = (inputSamples: number) => (inputSamples / step) * outPerStep;
  const piece = Math.floor((maxInput - 2 * overlap) / step) * step;
  if (piece < step) throw new RangeError(`cannot convert long clips from ${fromRate} Hz to ${toRate} Hz`);
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
  return concatFloat32(parts);
}

/** Converts one clip from `fromRate` to `toRate`. */
export async function resample(samples: Float32Array, fromRate: number, toRate: number): Promise<Float32Array> {
  return (await getResampler(fromRate, toRate)).resample(samples);
}
