/**
 * WAV reading and writing for the speech side: files given to `voxgate transcribe`,
 * espeak-ng's output, the WAV uploaded to Groq Whisper and `voxgate say`'s file.
 * Samples are float32 in [-1, 1]; 16-bit PCM maps as v / 32768 (and back, clamped).
 */

export class WavError extends Error {
  override name = 'WavError';
}

export interface DecodedWav {
  sampleRate: number;
  /** Channels in the file; `samples` is their average (mono). */
  channels: number;
  samples: Float32Array;
}

/**
 * Decodes PCM (8/16/24/32-bit) or IEEE float WAV. Streamed WAVs (espeak-ng --stdout)
 * carry placeholder sizes: a data chunk that claims more than the file has is read to the end.
 */
export function decodeWav(file: Uint8Array): DecodedWav {
  const buf = Buffer.from(file.buffer, file.byteOffset, file.byteLength);
  if (buf.length < 12 || buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') {
    throw new WavError('not a WAV file (no RIFF/WAVE header)');
  }
  let format = 0;
  let channels = 0;
  let sampleRate = 0;
  let bits = 0;
  let offset = 12;
  while (offset + 8 <= buf.length) {
    const id = buf.toString('ascii', offset, offset + 4);
    const size = buf.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === 'fmt ') {
      if (body + 16 > buf.length) throw new WavError('truncated fmt chunk');
      format = buf.readUInt16LE(body);
      channels = buf.readUInt16LE(body + 2);
      sampleRate = buf.readUInt32LE(body + 4);
      bits = buf.readUInt16LE(body + 14);
      // WAVE_FORMAT_EXTENSIBLE: the real format is the first two bytes of the sub-format GUID.
      if (format === 0xfffe && size >= 26) format = buf.readUInt16LE(body + 24);
    } else if (id === 'data') {
      if (!sampleRate || !channels) throw new WavError('data chunk before fmt chunk');
      const end = Math.min(body + size, buf.length);
      return { sampleRate, channels, samples: toMonoFloat(buf.subarray(body, end), format, bits, channels) };
    }
    offset = body + size + (size & 1);
  }
  throw new WavError('no data chunk');
}

function toMonoFloat(data: Buffer, format: number, bits: number, channels: number): Float32Array {
  const bytes = bits / 8;
  const frameBytes = bytes * channels;
  const frames = Math.floor(data.length / frameBytes);
  const read = sampleReader(data, format, bits);
  const out = new Float32Array(frames);
  for (let i = 0; i < frames; i++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += read(i * frameBytes + c * bytes);
    out[i] = sum / channels;
  }
  return out;
}

function sampleReader(data: Buffer, format: number, bits: number): (at: number) => number {
  if (format === 3 && bits === 32) return (at) => data.readFloatLE(at);
  if (format === 3 && bits === 64) return (at) => data.readDoubleLE(at);
  if (format !== 1) throw new WavError(`unsupported WAV format ${format} (${bits}-bit)`);
  switch (bits) {
    case 8:
      return (at) => (data[at]! - 128) / 128;
    case 16:
      return (at) => data.readInt16LE(at) / 32768;
    case 24:
      return (at) => data.readIntLE(at, 3) / 8388608;
    case 32:
      return (at) => data.readInt32LE(at) / 2147483648;
    default:
      throw new WavError(`unsupported PCM sample size ${bits} bits`);
  }
}

/** float32 → 16-bit PCM: round to nearest, clamped to the int16 range. */
export function floatToPcm16(samples: Float32Array): Int16Array {
  const out = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) {
    const v = Math.round(samples[i]! * 32768);
    out[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
  }
  return out;
}

/** A mono 16-bit PCM WAV file. */
export function encodeWavPcm16(samples: Float32Array, sampleRate: number): Buffer {
  const pcm = floatToPcm16(samples);
  const out = Buffer.alloc(44 + pcm.length * 2);
  out.write('RIFF', 0, 'ascii');
  out.writeUInt32LE(36 + pcm.length * 2, 4);
  out.write('WAVE', 8, 'ascii');
  out.write('fmt ', 12, 'ascii');
  out.writeUInt32LE(16, 16);
  out.writeUInt16LE(1, 20); // PCM
  out.writeUInt16LE(1, 22); // mono
  out.writeUInt32LE(sampleRate, 24);
  out.writeUInt32LE(sampleRate * 2, 28);
  out.writeUInt16LE(2, 32);
  out.writeUInt16LE(16, 34);
  out.write('data', 36, 'ascii');
  out.writeUInt32LE(pcm.length * 2, 40);
  for (let i = 0; i < pcm.length; i++) out.writeInt16LE(pcm[i]!, 44 + i * 2);
  return out;
}
