/**
 * The energy pause detector (preemptive generation's "silent right now") against the real
 * Silero VAD on real speech, and in a noisy room. Positions are counted in samples.
 */
import { describe, expect, it } from 'vitest';
import { EnergyPauseDetector, PAUSE_MIN_MS } from '../../gateway/speech/vad/pause-detector.ts';
import { findSpeechSegments } from '../../gateway/speech/vad/segments.ts';
import { concat, silence, speech60s, speechClip } from './helpers/audio.ts';
import { SILERO_SETTINGS } from './helpers/providers.ts';

const FRAME = 320; // 20 ms

/** silentNow() after each 20 ms frame. */
function trace(audio: Float32Array): boolean[] {
  const detector = new EnergyPauseDetector();
  const out: boolean[] = [];
  for (let i = 0; i < audio.length; i += FRAME) {
    detector.accept(audio.subarray(i, i + FRAME));
    out.push(detector.silentNow());
  }
  return out;
}

/** White noise at `rms`, from a seeded generator (repeatable). */
function noise(seconds: number, rms: number, seed = 7): Float32Array {
  let state = seed;
  const out = new Float32Array(Math.round(seconds * 16000));
  const amplitude = rms * Math.sqrt(3); // uniform in [-a, a] has rms a/√3
  for (let i = 0; i < out.length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = (state / 2 ** 32 - 0.5) * 2 * amplitude;
  }
  return out;
}

const mix = (a: Float32Array, b: Float32Array) => a.map((v, i) => v + (b[i] ?? 0));

describe('EnergyPauseDetector', () => {
  it('agrees with Silero on the 60 s recording: silent in its pauses, rarely inside its speech', () => {
    const audio = speech60s();
    const segments = findSpeechSegments(audio, { ...SILERO_SETTINGS, silenceMs: 200 });
    expect(segments.length).toBeGreaterThanOrEqual(5);
    const silent = trace(audio);
    const inSpeech = (frame: number) => segments.some((s) => frame * FRAME >= s.start && frame * FRAME < s.end);
    const speechFrames = silent.filter((_, f) => inSpeech(f));
    expect(speechFrames.filter(Boolean).length / speechFrames.length).toBeLessThan(0.1);
    for (let k = 1; k < segments.length; k++) {
      const from = Math.floor(segments[k - 1]!.end / FRAME);
      const to = Math.floor(segments[k]!.start / FRAME);
      if ((to - from) * 20 < 300) continue;
      expect(silent.slice(from, to)).toContain(true); // every pause of 300 ms or more is heard as one
    }
  });

  it('after speech, digital silence is a pause once PAUSE_MIN_MS have passed, not before', () => {
    const speech = speechClip(2, 1);
    const silent = trace(concat(speech, silence(1)));
    const speechFrames = Math.ceil(speech.length / FRAME);
    const first = silent.indexOf(true, speechFrames - 5);
    expect((first - speechFrames + 1) * 20).toBeGreaterThanOrEqual(PAUSE_MIN_MS);
    expect((first - speechFrames + 1) * 20).toBeLessThanOrEqual(PAUSE_MIN_MS + 100); // the clip may end mid-word
    expect(silent.slice(first)).not.toContain(false);
  });

  it('in a noisy room (-40 dBFS hiss) it follows the noise floor: speech is not silent, the pause after it is', () => {
    const speech = speechClip(3, 1);
    const room = noise(4, 0.01);
    const audio = mix(concat(speech, silence(1)), room);
    const silent = trace(audio);
    const speechFrames = Math.ceil(speech.length / FRAME);
    const afterSpeech = silent.slice(speechFrames);
    expect(afterSpeech.indexOf(true) * 20).toBeLessThanOrEqual(PAUSE_MIN_MS + 100);
    expect(afterSpeech.slice(afterSpeech.indexOf(true))).not.toContain(false);
    // The same speech without the hiss, for comparison (the clip has pauses of its own): the hiss adds few.
    const quiet = trace(speech).filter(Boolean).length;
    expect(silent.slice(0, speechFrames).filter(Boolean).length).toBeLessThanOrEqual(quiet + 0.1 * speechFrames);
  });

  it('noise without speech is never a pause: nobody has spoken, so nothing is to be answered early', () => {
    expect(trace(noise(3, 0.01))).not.toContain(true);
  });
});
