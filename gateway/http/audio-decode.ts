/**
 * Uploaded audio for the HTTP API: finds a converter for non-WAV uploads (ffmpeg, else sox)
 * and decodes uploads to 16 kHz mono (gateway/audio/upload-decode.ts) — on the gateway's codec
 * workers when it has them (`jobs`), so neither decoding, resampling nor the converter's fork
 * runs on the event loop — with the HTTP API's errors.
 */
import { spawn } from 'node:child_process';
import type { CodecPool } from '../audio/codec-pool.ts';
import { AudioDecodeError, decodeUpload, type AudioConverter, type DecodedAudio, type DecodeOptions } from '../audio/upload-decode.ts';
import { HttpError } from './http-errors.ts';

export type { AudioConverter, ConverterName, DecodedAudio, DecodeOptions } from '../audio/upload-decode.ts';

/** Where upload decoding and resampling run: the codec workers (`CodecPool`), or inline. */
export type AudioJobs = Pick<CodecPool, 'decodeUpload' | 'resample'>;

/** Probing a converter's version takes milliseconds; this only guards a hung binary. */
const PROBE_TIMEOUT_MS = 5_000;

/** The first converter that answers `--version`/`-version`, or undefined when none is installed. */
export async function findAudioConverter(candidates: readonly AudioConverter[] = DEFAULT_CONVERTERS): Promise<AudioConverter | undefined> {
  for (const candidate of candidates) {
    if (await answers(candidate)) return candidate;
  }
  return undefined;
}

export const DEFAULT_CONVERTERS: readonly AudioConverter[] = [
  { name: 'ffmpeg', command: 'ffmpeg' },
  { name: 'sox', command: 'sox' },
];

function answers(converter: AudioConverter): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(converter.command, [converter.name === 'ffmpeg' ? '-version' : '--version'], {
      stdio: 'ignore',
      timeout: PROBE_TIMEOUT_MS,
    });
    child.on('error', () => resolve(false));
    child.on('close', (code) => resolve(code === 0));
  });
}

/** Decodes an upload to 16 kHz mono float32; refusals are HttpErrors (`unsupported_audio`, `payload_too_large`). */
export async function decodeUploadedAudio(
  data: Uint8Array,
  converter: AudioConverter | undefined,
  options: DecodeOptions,
  jobs?: AudioJobs,
): Promise<DecodedAudio> {
  try {
    return jobs ? await jobs.decodeUpload(data, converter, options) : await decodeUpload(data, converter, options);
  } catch (err) {
    if (err instanceof AudioDecodeError) throw new HttpError(err.code, err.message);
    throw err;
  }
}
