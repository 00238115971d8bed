/**
 * Tells a pause in speech ("silent right now") from signal energy, for preemptive
 * generation. Silero through sherpa-onnx cannot: it reports the end of speech only once its
 * minimum silence has passed (the 700 ms that end an `auto` turn), and it exposes no
 * per-window probability. Here audio is cut into 20 ms windows; a window is silent when its
 * RMS is under an absolute floor (-50 dBFS), or both within +10 dB of the turn's noise floor
 * (the quietest window of the last 2 s, so it follows a noisy room up and a quiet one down
 * at once) and 16 dB under the turn's loudest speech (so 2 s of speech without a quiet gap
 * do not become their own floor). Silent now = the last PAUSE_MIN_MS were silent windows.
 * A quiet speaker in a loud room is never "silent": preemption then just does not start.
 *
 * Cost: one pass over the samples (about a microsecond per 20 ms frame), bookkeeping-sized,
 * so it runs on the event loop, beside the turn, while Silero stays on the workers.
 */
import { STT_SAMPLE_RATE, type PauseDetector } from '../types.ts';

export const PAUSE_WINDOW_MS = 20;
/** Gaps between words and stop consonants are shorter; a speaker who stopped is silent longer. */
export const PAUSE_MIN_MS = 150;
/** -50 dBFS: silence whatever the room. */
export const ABSOLUTE_SILENCE_RMS = 0.003;
/** +10 dB over the noise floor is sound. */
export const ABOVE_NOISE_FLOOR = 3.2;
/** The noise floor is the quietest window of this much recent audio. */
export const NOISE_FLOOR_MEMORY_MS = 2_000;
/** -16 dB under the loudest speech heard. */
export const BELOW_PEAK = 0.16;
/** The loudest level fades slowly (half-life ~14 s), so a louder moment long ago does not rule. */
const PEAK_DECAY_PER_WINDOW = 0.999;

const WINDOW_SAMPLES = (STT_SAMPLE_RATE * PAUSE_WINDOW_MS) / 1000;
const FLOOR_WINDOWS = NOISE_FLOOR_MEMORY_MS / PAUSE_WINDOW_MS;

export class EnergyPauseDetector implements PauseDetector {
  private sum = 0;
  private filled = 0;
  private readonly recent = new Float64Array(FLOOR_WINDOWS).fill(Infinity);
  private next = 0;
  private peak = 0;
  /** Silent audio at the end of what was heard (ms). */
  silentMs = 0;

  accept(samples: Float32Array): void {
    for (let i = 0; i < samples.length; i++) {
      const s = samples[i]!;
      this.sum += s * s;
      if (++this.filled === WINDOW_SAMPLES) this.endWindow();
    }
  }

  silentNow(): boolean {
    return this.silentMs >= PAUSE_MIN_MS;
  }

  private endWindow(): void {
    const rms = Math.sqrt(this.sum / WINDOW_SAMPLES);
    this.sum = 0;
    this.filled = 0;
    this.recent[this.next] = rms;
    this.next = (this.next + 1) % FLOOR_WINDOWS;
    let floor = Infinity;
    for (const value of this.recent) if (value < floor) floor = value;
    this.peak = Math.max(rms, this.peak * PEAK_DECAY_PER_WINDOW);
    const silent = rms < ABSOLUTE_SILENCE_RMS || (rms < floor * ABOVE_NOISE_FLOOR && rms < this.peak * BELOW_PEAK);
    this.silentMs = silent ? this.silentMs + PAUSE_WINDOW_MS : 0;
  }
}
