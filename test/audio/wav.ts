/** Reads the 16-bit PCM WAV fixtures under ../shared/audio (tests and benchmarks only). */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { TTS_SAMPLES_DIR } from '../helpers/shared-paths.ts';

export { SPEECH_60S_WAV } from '../helpers/shared-paths.ts';
export const TTS_SAMPLE_WAV = path.join(TTS_SAMPLES_DIR, 'matcha-ljspeech-0.wav');

export interface WavPcm16 {
  sampleRate: number;
  /** Mono samples as signed 16-bit integers. */
  samples: Int16Array;
}

/** Walks the RIFF chunks for `fmt ` and `data`; only mono 16-bit PCM is accepted. */
export function readWavPcm16(path: string): WavPcm16 {
  const file = readFileSync(path);
  if (file.toString('ascii', 0, 4) !== 'RIFF' || file.toString('ascii', 8, 12) !== 'WAVE') throw new Error(`${path}: not a WAV file`);
  let sampleRate = 0;
  let offset = 12;
  while (offset + 8 <= file.length) {
    const id = file.toString('ascii', offset, offset + 4);
    const size = file.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === 'fmt ') {
      const format = file.readUInt16LE(body);
      const channels = file.readUInt16LE(body + 2);
      const bits = file.readUInt16LE(body + 14);
      if (format !== 1 || channels !== 1 || bits !== 16) throw new Error(`${path}: expected mono 16-bit PCM`);
      sampleRate = file.readUInt32LE(body + 4);
    } else if (id === 'data') {
      if (!sampleRate) throw new Error(`${path}: data before fmt`);
      const bytes = file.subarray(body, body + Math.min(size, file.length - body));
      const samples = new Int16Array(bytes.length >> 1);
      for (let i = 0; i < samples.length; i++) samples[i] = bytes.readInt16LE(i * 2);
      return { sampleRate, samples };
    }
    offset = body + size + (size & 1);
  }
  throw new Error(`${path}: no data chunk`);
}
