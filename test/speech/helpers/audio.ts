/** Test audio as 16 kHz float32, read with our own WAV decoder. */
import { readFileSync } from 'node:fs';
import { decodeWav } from '../../../audio/wav.ts';
import { SPEECH_60S_WAV } from './paths.ts';

let speech60: Float32Array | undefined;

/** The 60 s fixture recording of real speech with pauses (16 kHz mono). */
export function speech60s(): Float32Array {
  if (!speech60) {
    const wav = decodeWav(readFileSync(SPEECH_60S_WAV));
    if (wav.sampleRate !== 16000) throw new Error(`expected 16 kHz, got ${wav.sampleRate}`);
    speech60 = wav.samples;
  }
  return speech60;
}

/** `seconds` of speech from the start of the 60 s recording (it starts speaking at once). */
export function speechClip(seconds: number, fromSeconds = 0): Float32Array {
  return speech60s().slice(fromSeconds * 16000, (fromSeconds + seconds) * 16000);
}

export function concat(...parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export const silence = (seconds: number) => new Float32Array(Math.round(seconds * 16000));
