/**
 * The speech the simulated wearables hold the button for: real recordings (WAV files or
 * folders of them), read once, converted to the microphone's mono 16 kHz and encoded once;
 * every device then streams the same packets (encoding is not what a load test measures).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeMic, type EncodedMic, type MicCodec } from './audio-encoder.ts';
import { readMicWav } from './wav.ts';

/** The checkout this module runs from: the nearest folder with a package.json (sources or dist/ alike). */
function packageRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) return from;
  }
}

const REPO_ROOT = packageRoot(path.dirname(fileURLToPath(import.meta.url)));
/**
 * Default speech for `voxgate-sim load`: the repository's five English utterances of 3.5–15 s
 * (test/fixtures/audio/tts-samples, described in test/fixtures/README.md).
 */
export const DEFAULT_LOAD_AUDIO = path.join(REPO_ROOT, 'test', 'fixtures', 'audio', 'tts-samples');

export interface LoadRecording {
  /** File name without `.wav`. */
  name: string;
  file: string;
  /** Mono 16 kHz samples (kept for references such as the benchmark's partial-lag baseline), without the hold. */
  samples: Float32Array;
  /** What the device sends: the samples, then `holdMs` of silence (the button held after the last word). */
  mic: EncodedMic;
}

export interface LoadRecordingOptions {
  /**
   * Silence streamed after each recording before the button is released: a person releases
   * a moment after the last word (the recordings themselves end 0.1–0.2 s after it).
   */
  holdMs?: number;
}

/** Files as given, folders expanded to their `*.wav` files (sorted, not recursive). */
export function listWavFiles(inputs: readonly string[]): string[] {
  const files: string[] = [];
  for (const input of inputs) {
    const stat = statSync(input); // throws ENOENT with the path in the message
    if (stat.isDirectory()) {
      const wavs = readdirSync(input).filter((name) => name.toLowerCase().endsWith('.wav')).sort();
      if (wavs.length === 0) throw new Error(`${input} contains no .wav file`);
      files.push(...wavs.map((name) => path.join(input, name)));
    } else {
      files.push(input);
    }
  }
  if (files.length === 0) throw new Error('no recordings given');
  return files;
}

/** Reads and encodes every recording once. */
export async function loadRecordings(inputs: readonly string[], codec: MicCodec, frameMs: number, options: LoadRecordingOptions = {}): Promise<LoadRecording[]> {
  const hold = Math.round(((options.holdMs ?? 0) * 16000) / 1000);
  const recordings: LoadRecording[] = [];
  for (const file of listWavFiles(inputs)) {
    const samples = await readMicWav(file);
    if (samples.length === 0) throw new Error(`${file} holds no audio`);
    const held = new Float32Array(samples.length + hold);
    held.set(samples);
    recordings.push({ name: path.basename(file).replace(/\.wav$/i, ''), file, samples, mic: encodeMic(held, codec, frameMs) });
  }
  return recordings;
}
