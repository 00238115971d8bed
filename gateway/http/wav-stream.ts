/**
 * A WAV file written while its audio is still being made: the header goes first with the
 * "unknown length" sizes (0xFFFFFFFF) that streaming writers such as sox and ffmpeg use on
 * pipes, then 16-bit PCM as each piece arrives. Players and our own decoders read such a
 * file to its end.
 */
import { float32ToPcm16 } from '../audio/pcm16.ts';

const UNKNOWN_SIZE = 0xffff_ffff;

/** The 44-byte header of a mono 16-bit PCM WAV of unknown length. */
export function streamingWavHeader(sampleRate: number): Buffer {
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(UNKNOWN_SIZE, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * 2, 28); // byte rate
  header.writeUInt16LE(2, 32); // block align
  header.writeUInt16LE(16, 34); // bits per sample
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(UNKNOWN_SIZE, 40);
  return header;
}

/** Float samples as little-endian 16-bit PCM bytes. */
export function pcm16Bytes(samples: Float32Array): Buffer {
  const bytes = float32ToPcm16(samples);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
