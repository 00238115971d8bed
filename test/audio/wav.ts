/** Reads the 16-bit PCM WAV fixtures under test/fixtures/audio (tests and benchmarks only). */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { float32ToInt16 } from '../../audio/pcm16.ts';
import { parseWav } from '../../audio/wav.ts';
import { TTS_SAMPLES_DIR } from '../helpers/fixture-paths.ts';

export { SPEECH_60S_WAV } from '../helpers/fixture-paths.ts';
export const TTS_SAMPLE_WAV = path.join(TTS_SAMPLES_DIR, 'matcha-ljspeech-0.wav');

export interface WavPcm16 {
  sampleRate: number;
  /** Mono samples as signed 16-bit integers. */
  samples: Int16Array;
}

/** Only mono 16-bit PCM is accepted; its samples come back exactly (v / 32768 and back is lossless). */
export function readWavPcm16(path: string): WavPcm16 {
  let wav;
  try {
    wav = parseWav(readFileSync(path));
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`);
  }
  const [mono] = wav.channels;
  if (wav.encoding !== 'int' || wav.bitsPerSample !== 16 || wav.channels.length !== 1 || !mono) {
    throw new Error(`${path}: expected mono 16-bit PCM`);
  }
  return { sampleRate: wav.sampleRate, samples: float32ToInt16(mono) };
}
