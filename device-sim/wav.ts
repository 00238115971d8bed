/**
 * WAV files on disk for the simulator. The codec itself (parsing, downmixing, encoding) is
 * audio/wav.ts; this adds file I/O and turns any WAV into what a wearable's
 * microphone produces: mono 16 kHz.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { resample } from '../audio/resampler.ts';
import { decodeWav, encodeWavPcm16 } from '../audio/wav.ts';
import { MIC_SAMPLE_RATE } from '../protocol/index.ts';

/** Any PCM WAV, of any length → what the wearable's microphone would produce: mono float32 at 16 kHz. */
export async function readMicWav(path: string): Promise<Float32Array> {
  const wav = decodeWav(await readFile(path));
  return resample(wav.samples, wav.sampleRate, MIC_SAMPLE_RATE);
}

/** Writes mono 16-bit PCM WAV (the reply audio a device would play). */
export async function writeWav(path: string, samples: Float32Array, sampleRate: number): Promise<void> {
  await writeFile(path, encodeWavPcm16(samples, sampleRate));
}
