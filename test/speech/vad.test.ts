/**
 * The real Silero VAD (sherpa-onnx `Vad`) on real recordings: where speech is, trimming,
 * and `auto`-mode endpointing after the configured trailing silence. Positions are
 * counted in samples, never in wall-clock time.
 */
import { describe, expect, it } from 'vitest';
import { findSpeechSegments, trimSilence } from '../../gateway/speech/vad/segments.ts';
import { SileroTurnEndDetectorFactory } from '../../gateway/speech/vad/turn-end.ts';
import { concat, silence, speech60s, speechClip } from './helpers/audio.ts';
import { SILERO_SETTINGS } from './helpers/providers.ts';

const RATE = 16000;
const FRAME = 320; // 20 ms

function rms(samples: Float32Array): number {
  let sum = 0;
  for (const v of samples) sum += v * v;
  return Math.sqrt(sum / Math.max(1, samples.length));
}

/** Feeds 20 ms frames; returns the sample position at which the detector ended the turn, or -1. */
function endOf(detector: { accept(s: Float32Array): boolean }, audio: Float32Array): number {
  for (let i = 0; i < audio.length; i += FRAME) {
    if (detector.accept(audio.subarray(i, i + FRAME))) return Math.min(audio.length, i + FRAME);
  }
  return -1;
}

describe('Silero VAD segments on real speech', () => {
  it('finds the speech in the 60 s recording: ordered, disjoint, and louder than what lies between', () => {
    const audio = speech60s();
    const segments = findSpeechSegments(audio, { ...SILERO_SETTINGS, silenceMs: 500 });
    expect(segments.length).toBeGreaterThanOrEqual(3);
    let speechSamples = 0;
    for (let i = 0; i < segments.length; i++) {
      const s = segments[i]!;
      expect(s.start).toBeGreaterThanOrEqual(0);
      expect(s.end).toBeGreaterThan(s.start);
      expect(s.end).toBeLessThanOrEqual(audio.length);
      if (i > 0) expect(s.start).toBeGreaterThanOrEqual(segments[i - 1]!.end);
      speechSamples += s.end - s.start;
    }
    const fraction = speechSamples / audio.length;
    expect(fraction).toBeGreaterThan(0.3);
    expect(fraction).toBeLessThan(0.95);
    // The gaps are the quiet parts: inside segments the signal is much stronger.
    const inside = concat(...segments.map((s) => audio.subarray(s.start, s.end)));
    const gaps: Float32Array[] = [];
    let at = 0;
    for (const s of segments) {
      gaps.push(audio.subarray(at, s.start));
      at = s.end;
    }
    gaps.push(audio.subarray(at));
    expect(rms(inside)).toBeGreaterThan(3 * rms(concat(...gaps)));
  });

  it('places the boundaries of speech surrounded by silence where the speech is', () => {
    const audio = concat(silence(2), speechClip(3), silence(2));
    const segments = findSpeechSegments(audio, SILERO_SETTINGS);
    expect(segments.length).toBe(1);
    const [segment] = segments;
    expect(segment!.start / RATE).toBeGreaterThan(1.5);
    expect(segment!.start / RATE).toBeLessThan(2.3);
    expect(segment!.end / RATE).toBeGreaterThan(4.6);
    expect(segment!.end / RATE).toBeLessThan(5.8);
  });

  it('trims silence: keeps the speech (with padding), drops the rest', () => {
    const speech = speechClip(3);
    const trimmed = trimSilence(concat(silence(3), speech, silence(3), speech, silence(3)), SILERO_SETTINGS);
    expect(trimmed.length).toBeGreaterThan(2 * speech.length * 0.85);
    expect(trimmed.length).toBeLessThan(2 * speech.length + 2 * RATE);
    expect(trimSilence(silence(5), SILERO_SETTINGS).length).toBe(0);
  });
});

describe('auto-mode turn end (Silero)', () => {
  it('ends the turn after the configured trailing silence, counted in samples', () => {
    for (const silenceMs of [700, 1200]) {
      const factory = new SileroTurnEndDetectorFactory({ ...SILERO_SETTINGS, silenceMs });
      const speechEnd = 3 * RATE;
      const at = endOf(factory.create(), concat(speechClip(3), silence(4)));
      expect(at).toBeGreaterThan(0);
      const trailingMs = ((at - speechEnd) / RATE) * 1000;
      expect(trailingMs).toBeGreaterThanOrEqual(silenceMs - 150);
      expect(trailingMs).toBeLessThanOrEqual(silenceMs + 400);
    }
  });

  it('does not end a turn that is only silence, nor one still speaking', () => {
    const factory = new SileroTurnEndDetectorFactory(SILERO_SETTINGS);
    expect(endOf(factory.create(), silence(8))).toBe(-1);
    expect(endOf(factory.create(), speechClip(2))).toBe(-1);
  });

  it('keeps saying "ended" once it has, and pooled detectors start fresh', () => {
    const factory = new SileroTurnEndDetectorFactory(SILERO_SETTINGS);
    const first = factory.create();
    const at = endOf(first, concat(speechClip(3), silence(2)));
    expect(at).toBeGreaterThan(0);
    expect(first.accept(speechClip(0.1))).toBe(true);
    // The instance went back to the pool reset: a new turn of silence does not end at once.
    for (let i = 0; i < 5; i++) expect(endOf(factory.create(), silence(2))).toBe(-1);
    const again = endOf(factory.create(), concat(speechClip(3), silence(2)));
    expect(again).toBe(at);
  });
});
