/** Signal helpers for the audio tests: tones, energy, a single-frequency detector, SNR. */

export function sine(freq: number, rate: number, seconds: number, amplitude = 0.5): Float32Array {
  const out = new Float32Array(Math.round(rate * seconds));
  for (let i = 0; i < out.length; i++) out[i] = amplitude * Math.sin((2 * Math.PI * freq * i) / rate);
  return out;
}

export function rms(x: ArrayLike<number>, from = 0, to = x.length): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += x[i]! * x[i]!;
  return Math.sqrt(sum / Math.max(1, to - from));
}

/** Amplitude of the `freq` component (Goertzel), normalised so a sine of amplitude A gives ≈ A. */
export function toneAmplitude(x: ArrayLike<number>, freq: number, rate: number, from = 0, to = x.length): number {
  const w = (2 * Math.PI * freq) / rate;
  const coeff = 2 * Math.cos(w);
  let s1 = 0;
  let s2 = 0;
  for (let i = from; i < to; i++) {
    const s0 = x[i]! + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
  return (2 * Math.sqrt(Math.max(0, power))) / (to - from);
}

/** Strongest frequency among `candidates` (Hz). */
export function dominantFrequency(x: ArrayLike<number>, rate: number, candidates: number[]): number {
  let best = candidates[0]!;
  let bestAmp = -1;
  for (const f of candidates) {
    const a = toneAmplitude(x, f, rate);
    if (a > bestAmp) [best, bestAmp] = [f, a];
  }
  return best;
}

/** SNR (dB) of `decoded` against `source` after finding the codec delay (0..maxDelay samples). */
export function snrDb(source: ArrayLike<number>, decoded: ArrayLike<number>, maxDelay = 800): { snr: number; delay: number } {
  const probe = Math.min(source.length, 32000);
  let delay = 0;
  let bestCorr = -Infinity;
  for (let d = 0; d <= maxDelay; d++) {
    let c = 0;
    for (let i = 0; i < probe && i + d < decoded.length; i++) c += source[i]! * decoded[i + d]!;
    if (c > bestCorr) [delay, bestCorr] = [d, c];
  }
  let signal = 0;
  let noise = 0;
  for (let i = 0; i < source.length && i + delay < decoded.length; i++) {
    const e = source[i]! - decoded[i + delay]!;
    signal += source[i]! * source[i]!;
    noise += e * e;
  }
  return { snr: 10 * Math.log10(signal / noise), delay };
}
