/**
 * WAV files in and out. Reading walks the RIFF chunks by hand (PCM 8/16/24/32-bit integer,
 * 32/64-bit float, WAVE_FORMAT_EXTENSIBLE, any channel count) and hands back float samples;
 * `readMicWav` turns any of them into what a wearable's microphone produces: mono 16 kHz.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { MIC_SAMPLE_RATE } from '../protocol/index.ts';
import { resample } from './resample.ts';
import { floatToPcm16 } from './pcm16.ts';

export interface DecodedWav {
  sampleRate: number;
  /** One array per channel, samples in [-1, 1]. */
  channels: Float32Array[];
}

const WAVE_FORMAT_PCM = 1;
const WAVE_FORMAT_IEEE_FLOAT = 3;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;
/** A `data` size of 0 or 0xFFFFFFFF is what streaming writers (sox to a pipe) leave: read to the end of the file. */
const STREAMED_DATA_SIZE = 0xffff_ffff;

interface WavFormat {
  encoding: 'int' | 'float';
  channels: number;
  sampleRate: number;
  bitsPerSample: number;
  blockAlign: number;
}

function readFormat(bytes: Buffer, body: number, size: number): WavFormat {
  if (size < 16) throw new Error('WAV fmt chunk is too short');
  let tag = bytes.readUInt16LE(body);
  const channels = bytes.readUInt16LE(body + 2);
  const sampleRate = bytes.readUInt32LE(body + 4);
  const blockAlign = bytes.readUInt16LE(body + 12);
  const bitsPerSample = bytes.readUInt16LE(body + 14);
  // Extensible: the real format tag is the first two bytes of the sub-format GUID.
  if (tag === WAVE_FORMAT_EXTENSIBLE && size >= 40) tag = bytes.readUInt16LE(body + 24);
  if (tag !== WAVE_FORMAT_PCM && tag !== WAVE_FORMAT_IEEE_FLOAT) throw new Error(`WAV format tag ${tag} is not PCM or float`);
  const encoding = tag === WAVE_FORMAT_PCM ? 'int' : 'float';
  const supported = encoding === 'int' ? [8, 16, 24, 32] : [32, 64];
  if (!supported.includes(bitsPerSample)) throw new Error(`WAV ${encoding} samples of ${bitsPerSample} bits are not supported`);
  if (channels < 1) throw new Error('WAV has no channels');
  if (sampleRate < 1) throw new Error('WAV sample rate is 0');
  if (blockAlign < (channels * bitsPerSample) / 8) throw new Error('WAV block align is smaller than one sample frame');
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

/** Decodes a whole WAV file held in memory. */
export function parseWav(input: Uint8Array): DecodedWav {
  const bytes = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  if (bytes.length < 12 || bytes.toString('ascii', 0, 4) !== 'RIFF' || bytes.toString('ascii', 8, 12) !== 'WAVE') {
    throw new Error('not a RIFF/WAVE file');
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
      if (!format) throw new Error('WAV data chunk comes before its fmt chunk');
      const available = bytes.length - body;
      const size = declared === 0 || declared === STREAMED_DATA_SIZE ? available : Math.min(declared, available);
      return decodeData(bytes.subarray(body, body + size), format);
    }
    offset = body + declared + (declared & 1); // chunks are padded to an even size
  }
  throw new Error(format ? 'WAV has no data chunk' : 'WAV has no fmt chunk');
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
  return { sampleRate: format.sampleRate, channels };
}

/** Averages the channels into one (a mono file is returned as is). */
export function downmix(channels: Float32Array[]): Float32Array {
  const first = channels[0];
  if (!first) throw new Error('no channels to mix');
  if (channels.length === 1) return first;
  const out = new Float32Array(first.length);
  for (const channel of channels) for (let i = 0; i < out.length; i++) out[i]! += channel[i]! / channels.length;
  return out;
}

/** Any PCM WAV → what the wearable's microphone would produce: mono float32 at 16 kHz. */
export async function readMicWav(path: string): Promise<Float32Array> {
  const wav = parseWav(await readFile(path));
  return resample(downmix(wav.channels), wav.sampleRate, MIC_SAMPLE_RATE);
}

/** Mono 16-bit PCM WAV bytes (the reply audio a device would play). */
export function encodeWav(samples: Float32Array, sampleRate: number): Buffer {
  const pcm = floatToPcm16(samples);
  const dataBytes = pcm.length * 2;
  const out = Buffer.alloc(44 + dataBytes);
  out.write('RIFF', 0, 'ascii');
  out.writeUInt32LE(36 + dataBytes, 4);
  out.write('WAVE', 8, 'ascii');
  out.write('fmt ', 12, 'ascii');
  out.writeUInt32LE(16, 16);
  out.writeUInt16LE(WAVE_FORMAT_PCM, 20);
  out.writeUInt16LE(1, 22); // mono
  out.writeUInt32LE(sampleRate, 24);
  out.writeUInt32LE(sampleRate * 2, 28); // byte rate
  out.writeUInt16LE(2, 32); // block align
  out.writeUInt16LE(16, 34); // bits per sample
  out.write('data', 36, 'ascii');
  out.writeUInt32LE(dataBytes, 40);
  for (let i = 0; i < pcm.length; i++) out.writeInt16LE(pcm[i]!, 44 + i * 2);
  return out;
}

export async function writeWav(path: string, samples: Float32Array, sampleRate: number): Promise<void> {
  await writeFile(path, encodeWav(samples, sampleRate));
}
