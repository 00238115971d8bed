/**
 * The one WAV codec: bytes ↔ float samples in [-1, 1], no file I/O. Reading walks the RIFF
 * chunks by hand (PCM 8/16/24/32-bit integer, 32/64-bit float, WAVE_FORMAT_EXTENSIBLE, any
 * channel count, streamed files whose sizes were never filled in); writing makes mono 16-bit
 * PCM, either whole or as a header of unknown length followed by PCM pieces.
 * Sample scaling is pcm16.ts's: v / 32768 and back, clamped, so 16-bit round trips are exact.
 */
import { float32ToPcm16, PCM16_BYTES_PER_SAMPLE } from './pcm16.ts';

export class WavError extends Error {
  override name = 'WavError';
}

export interface DecodedWav {
  sampleRate: number;
  /** One array per channel, samples in [-1, 1]. */
  channels: Float32Array[];
  /** How the file stored its samples (after WAVE_FORMAT_EXTENSIBLE is unwrapped). */
  encoding: 'int' | 'float';
  bitsPerSample: number;
}

export interface MonoWav {
  sampleRate: number;
  /** Channels in the file; `samples` is their average. */
  channels: number;
  samples: Float32Array;
}

const WAVE_FORMAT_PCM = 1;
const WAVE_FORMAT_IEEE_FLOAT = 3;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;
/** A `data` size of 0 or 0xFFFFFFFF is what streaming writers (sox, ffmpeg on a pipe) leave: read to the end of the file. */
const STREAMED_SIZE = 0xffff_ffff;
const HEADER_BYTES = 44;

interface WavFormat {
  encoding: 'int' | 'float';
  channels: number;
  sampleRate: number;
  bitsPerSample: number;
  blockAlign: number;
}

function readFormat(bytes: Buffer, body: number, size: number): WavFormat {
  if (size < 16 || body + 16 > bytes.length) throw new WavError('WAV fmt chunk is too short');
  let tag = bytes.readUInt16LE(body);
  const channels = bytes.readUInt16LE(body + 2);
  const sampleRate = bytes.readUInt32LE(body + 4);
  const blockAlign = bytes.readUInt16LE(body + 12);
  const bitsPerSample = bytes.readUInt16LE(body + 14);
  // Extensible: the real format tag is the first two bytes of the sub-format GUID.
  if (tag === WAVE_FORMAT_EXTENSIBLE && size >= 26 && body + 26 <= bytes.length) tag = bytes.readUInt16LE(body + 24);
  if (tag !== WAVE_FORMAT_PCM && tag !== WAVE_FORMAT_IEEE_FLOAT) {
    throw new WavError(`unsupported WAV format ${tag} (format tag ${tag} is not PCM or float)`);
  }
  const encoding = tag === WAVE_FORMAT_PCM ? 'int' : 'float';
  const supported = encoding === 'int' ? [8, 16, 24, 32] : [32, 64];
  if (!supported.includes(bitsPerSample)) throw new WavError(`WAV ${encoding} samples of ${bitsPerSample} bits are not supported`);
  if (channels < 1) throw new WavError('WAV has no channels');
  if (sampleRate < 1) throw new WavError('WAV sample rate is 0');
  if (blockAlign < (channels * bitsPerSample) / 8) throw new WavError('WAV block align is smaller than one sample frame');
  return { encoding, channels, sampleRate, bitsPerSample, blockAlign };
}

function sampleReader(format: WavFormat): (bytes: Buffer, at: number) => number {
  if (format.encoding === 'float') {
    return format.bitsPerSample === 32 ? (b, at) => b.readFloatLE(at) : (b, at) => b.readDoubleLE(at);
  }
  switch (format.bitsPerSample) {
    case 8:
      return (b, at) => (b.readUInt8(at) - 128) / 128; // 8-bit WAV is unsigned
    case 16:
      return (b, at) => b.readInt16LE(at) / 32768;
    case 24:
      return (b, at) => b.readIntLE(at, 3) / 8388608;
    default:
      return (b, at) => b.readInt32LE(at) / 2147483648;
  }
}

/** Decodes a whole WAV file held in memory, one float array per channel. Throws WavError. */
export function parseWav(input: Uint8Array): DecodedWav {
  const bytes = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  if (bytes.length < 12 || bytes.toString('ascii', 0, 4) !== 'RIFF' || bytes.toString('ascii', 8, 12) !== 'WAVE') {
    throw new WavError('not a WAV file (no RIFF/WAVE header)');
  }
  let format: WavFormat | undefined;
  let offset = 12;
  while (offset + 8 <= bytes.length) {
    const id = bytes.toString('ascii', offset, offset + 4);
    const declared = bytes.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === 'fmt ') {
      format = readFormat(bytes, body, declared);
    } else if (id === 'data') {
      if (!format) throw new WavError('WAV data chunk comes before its fmt chunk');
      const available = bytes.length - body;
      // A size past the end (streamed, or espeak-ng --stdout's placeholder) is read to the end.
      const size = declared === 0 || declared === STREAMED_SIZE ? available : Math.min(declared, available);
      return decodeData(bytes.subarray(body, body + size), format);
    }
    offset = body + declared + (declared & 1); // chunks are padded to an even size
  }
  throw new WavError(format ? 'WAV has no data chunk' : 'WAV has no fmt chunk');
}

function decodeData(data: Buffer, format: WavFormat): DecodedWav {
  const frames = Math.floor(data.length / format.blockAlign);
  const bytesPerSample = format.bitsPerSample / 8;
  const read = sampleReader(format);
  const channels = Array.from({ length: format.channels }, () => new Float32Array(frames));
  for (let frame = 0; frame < frames; frame++) {
    const base = frame * format.blockAlign;
    for (let ch = 0; ch < format.channels; ch++) channels[ch]![frame] = read(data, base + ch * bytesPerSample);
  }
  return { sampleRate: format.sampleRate, channels, encoding: format.encoding, bitsPerSample: format.bitsPerSample };
}

/** Averages the channels into one (a mono file is returned as is). */
export function downmix(channels: Float32Array[]): Float32Array {
  const first = channels[0];
  if (!first) throw new Error('no channels to mix');
  if (channels.length === 1) return first;
  const out = new Float32Array(first.length);
  for (let i = 0; i < out.length; i++) {
    let sum = 0; // summed in double precision, rounded to float32 once
    for (const channel of channels) sum += channel[i]!;
    out[i] = sum / channels.length;
  }
  return out;
}

/** Decodes a WAV file and mixes it down to mono. Throws WavError. */
export function decodeWav(input: Uint8Array): MonoWav {
  const wav = parseWav(input);
  return { sampleRate: wav.sampleRate, channels: wav.channels.length, samples: downmix(wav.channels) };
}

/** The 44-byte header of a mono 16-bit PCM WAV; `dataBytes` undefined means unknown length (streamed). */
export function wavHeaderPcm16(sampleRate: number, dataBytes?: number): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(dataBytes === undefined ? STREAMED_SIZE : HEADER_BYTES - 8 + dataBytes, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(WAVE_FORMAT_PCM, 20);
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * PCM16_BYTES_PER_SAMPLE, 28); // byte rate
  header.writeUInt16LE(PCM16_BYTES_PER_SAMPLE, 32); // block align
  header.writeUInt16LE(16, 34); // bits per sample
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(dataBytes ?? STREAMED_SIZE, 40);
  return header;
}

/**
 * The header of a WAV written while its audio is still being made, with the "unknown length"
 * sizes (0xFFFFFFFF) that sox and ffmpeg use on pipes; follow it with `pcm16Bytes` pieces.
 */
export function streamingWavHeader(sampleRate: number): Buffer {
  return wavHeaderPcm16(sampleRate);
}

/** Float samples as little-endian 16-bit PCM bytes (clamped). */
export function pcm16Bytes(samples: Float32Array): Buffer {
  const bytes = float32ToPcm16(samples);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A whole mono 16-bit PCM WAV file. */
export function encodeWavPcm16(samples: Float32Array, sampleRate: number): Buffer {
  const pcm = pcm16Bytes(samples);
  return Buffer.concat([wavHeaderPcm16(sampleRate, pcm.length), pcm]);
}
