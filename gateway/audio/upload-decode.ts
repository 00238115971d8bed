/**
 * Uploaded audio → what recognizers take: mono float32 at 16 kHz. WAV is decoded here;
 * other formats (FLAC, Ogg, MP3, M4A, WebM, …) go through a converter found on this machine
 * (ffmpeg, else sox) in a child process, which writes raw 16-bit 16 kHz mono to a pipe.
 * Output is capped at the audio length limit, so a tiny compressed bomb cannot fill memory.
 *
 * The gateway runs this on a codec worker (codec-pool.ts): decoding, resampling and the
 * converter's fork stay off the event loop. Failures are AudioDecodeErrors whose codes are
 * the HTTP API's (gateway/http/http-errors.ts), so they cross the thread boundary as data.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pcm16ToFloat32 } from '../../audio/pcm16.ts';
import { getResampler } from '../../audio/resampler.ts';
import { decodeWav, WavError } from '../../audio/wav.ts';
import { STT_SAMPLE_RATE } from '../speech/types.ts';

export type ConverterName = 'ffmpeg' | 'sox';

export interface AudioConverter {
  name: ConverterName;
  /** The executable (looked up on PATH by the OS). */
  command: string;
}

export type AudioDecodeErrorCode = 'unsupported_audio' | 'payload_too_large' | 'bad_request';

export class AudioDecodeError extends Error {
  override name = 'AudioDecodeError';

  constructor(
    readonly code: AudioDecodeErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Converter error output kept for the error message. */
const MAX_STDERR_CHARS = 2_000;

/** File name extensions by media type, for uploads whose name says nothing (sox picks its reader by extension). */
const EXTENSION_BY_MEDIA_TYPE: Record<string, string> = {
  'audio/flac': 'flac',
  'audio/x-flac': 'flac',
  'audio/ogg': 'ogg',
  'audio/opus': 'opus',
  'audio/mpeg': 'mp3',
  'audio/mp3': 'mp3',
  'audio/mp4': 'm4a',
  'audio/x-m4a': 'm4a',
  'audio/aac': 'aac',
  'audio/webm': 'webm',
  'audio/aiff': 'aiff',
  'audio/x-aiff': 'aiff',
  'audio/basic': 'au',
};

export interface DecodeOptions {
  filename?: string;
  mimeType?: string;
  /** Longer audio is refused (`payload_too_large`). */
  maxSeconds: number;
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface DecodedAudio {
  /** Mono float32 in [-1, 1] at 16 kHz. */
  samples: Float32Array;
  durationSeconds: number;
  decoder: 'wav' | ConverterName;
}

function isWav(data: Buffer): boolean {
  return data.length >= 12 && data.toString('ascii', 0, 4) === 'RIFF' && data.toString('ascii', 8, 12) === 'WAVE';
}

function tooLong(maxSeconds: number): AudioDecodeError {
  return new AudioDecodeError('payload_too_large', `the audio is longer than the limit of ${maxSeconds} s`);
}

export async function decodeUpload(data: Uint8Array, converter: AudioConverter | undefined, options: DecodeOptions): Promise<DecodedAudio> {
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (isWav(bytes)) {
    try {
      const wav = decodeWav(bytes);
      if (wav.samples.length / wav.sampleRate > options.maxSeconds) throw tooLong(options.maxSeconds);
      // The uploader picks the rate: an odd one goes through the scratch converter (resampler.ts).
      const samples = (await getResampler(wav.sampleRate, STT_SAMPLE_RATE)).resample(wav.samples);
      return { samples, durationSeconds: wav.samples.length / wav.sampleRate, decoder: 'wav' };
    } catch (err) {
      if (err instanceof AudioDecodeError) throw err;
      // An exotic WAV (ADPCM, µ-law): a converter may still read it.
      if (!converter) throw new AudioDecodeError('unsupported_audio', `cannot decode this WAV file: ${(err as Error).message}`);
      if (!(err instanceof WavError) && !(err instanceof RangeError)) throw err;
    }
  }
  if (!converter) {
    throw new AudioDecodeError('unsupported_audio', 'only WAV can be decoded on this gateway (install ffmpeg or sox for other formats)');
  }
  const pcm = await convert(bytes, converter, options);
  const samples = pcm16ToFloat32(pcm);
  if (samples.length === 0) throw new AudioDecodeError('unsupported_audio', 'the file holds no audio');
  return { samples, durationSeconds: samples.length / STT_SAMPLE_RATE, decoder: converter.name };
}

function extensionFor(options: DecodeOptions): string | undefined {
  const fromName = path.extname(options.filename ?? '').slice(1).toLowerCase();
  if (/^[a-z0-9]{1,8}$/.test(fromName)) return fromName;
  return EXTENSION_BY_MEDIA_TYPE[(options.mimeType ?? '').split(';')[0]!.trim()];
}

function converterArgs(converter: AudioConverter, input: string): string[] {
  if (converter.name === 'ffmpeg') {
    return ['-nostdin', '-hide_banner', '-loglevel', 'error', '-i', input, '-vn', '-ac', '1', '-ar', String(STT_SAMPLE_RATE), '-f', 's16le', 'pipe:1'];
  }
  // `-t raw …` after the input: little-endian signed 16-bit mono at 16 kHz (sox adds the rate/remix effects).
  return ['-V1', input, '-t', 'raw', '-e', 'signed-integer', '-b', '16', '-L', '-c', '1', '-r', String(STT_SAMPLE_RATE), '-'];
}

/** Runs the converter on a temporary copy of the upload (sox needs a name; mp4 needs to seek). */
async function convert(data: Buffer, converter: AudioConverter, options: DecodeOptions): Promise<Buffer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'voxgate-upload-'));
  try {
    const ext = extensionFor(options);
    const input = path.join(dir, ext ? `upload.${ext}` : 'upload');
    await writeFile(input, data, { mode: 0o600 });
    return await runConverter(converter, converterArgs(converter, input), options);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function runConverter(converter: AudioConverter, args: string[], options: DecodeOptions): Promise<Buffer> {
  const maxBytes = options.maxSeconds * STT_SAMPLE_RATE * 2;
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) return reject(new AudioDecodeError('bad_request', 'the request was cancelled'));
    const child = spawn(converter.command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let size = 0;
    let stderr = '';
    let failure: Error | undefined;
    const stop = (error: Error) => {
      failure ??= error;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(() => stop(new AudioDecodeError('unsupported_audio', `decoding took longer than ${options.timeoutMs} ms`)), options.timeoutMs);
    const onAbort = () => stop(new AudioDecodeError('bad_request', 'the request was cancelled'));
    options.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) return stop(tooLong(options.maxSeconds));
      chunks.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < MAX_STDERR_CHARS) stderr += chunk.toString('utf8');
    });
    child.on('error', (err) => stop(new AudioDecodeError('unsupported_audio', `${converter.name} could not run: ${err.message}`)));
    child.on('close', (code) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      if (failure) return reject(failure);
      if (code !== 0) {
        const why = stderr.trim().split('\n').filter(Boolean).pop() ?? `exit code ${code}`;
        return reject(new AudioDecodeError('unsupported_audio', `cannot decode this audio (${converter.name}: ${why.replace(/\/\S*voxgate-upload-\S*/g, 'upload')})`));
      }
      const pcm = Buffer.concat(chunks, size);
      resolve(pcm.length % 2 === 0 ? pcm : pcm.subarray(0, pcm.length - 1));
    });
  });
}
