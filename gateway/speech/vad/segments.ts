/**
 * Offline use of Silero VAD on a whole recording: where the speech is, and the same
 * audio with the silence between speech trimmed away (each segment keeps some padding).
 * For files and buffered turns; live audio goes through SpeechGate / the turn-end detector.
 */
import { loadSherpa } from '../sherpa/native.ts';
import { STT_SAMPLE_RATE } from '../types.ts';
import { SILERO_WINDOW_SAMPLES, sileroVadConfig, type VadSettings } from './silero-config.ts';

/** Silence kept around each speech segment when trimming: word edges are soft. */
export const TRIM_PADDING_MS = 200;

export interface SpeechSegmentBounds {
  /** Sample offsets in the input, end exclusive. */
  start: number;
  end: number;
}

export function findSpeechSegments(samples: Float32Array, settings: VadSettings): SpeechSegmentBounds[] {
  const vad = new (loadSherpa().Vad)(sileroVadConfig(settings), Math.ceil(samples.length / STT_SAMPLE_RATE) + 1);
  const segments: SpeechSegmentBounds[] = [];
  const collect = () => {
    while (!vad.isEmpty()) {
      const segment = vad.front(false);
      segments.push({ start: segment.start, end: segment.start + segment.samples.length });
      vad.pop();
    }
  };
  for (let i = 0; i < samples.length; i += SILERO_WINDOW_SAMPLES) {
    vad.acceptWaveform(samples.subarray(i, i + SILERO_WINDOW_SAMPLES));
    collect();
  }
  vad.flush();
  collect();
  return segments;
}

/** The speech parts of `samples` (each padded by `paddingMs`, overlaps merged), concatenated. */
export function trimSilence(samples: Float32Array, settings: VadSettings, paddingMs = TRIM_PADDING_MS): Float32Array {
  const pad = Math.round((paddingMs / 1000) * STT_SAMPLE_RATE);
  const merged: SpeechSegmentBounds[] = [];
  for (const s of findSpeechSegments(samples, settings)) {
    const start = Math.max(0, s.start - pad);
    const end = Math.min(samples.length, s.end + pad);
    const last = merged[merged.length - 1];
    if (last && start <= last.end) last.end = Math.max(last.end, end);
    else merged.push({ start, end });
  }
  const out = new Float32Array(merged.reduce((n, s) => n + s.end - s.start, 0));
  let at = 0;
  for (const s of merged) {
    out.set(samples.subarray(s.start, s.end), at);
    at += s.end - s.start;
  }
  return out;
}
