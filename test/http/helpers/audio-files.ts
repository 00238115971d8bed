/** Audio uploads for the HTTP tests: WAV made here, other formats made by sox (a CI package). */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { encodeWavPcm16 } from '../../../audio/wav.ts';
import { sine } from '../../audio/signal.ts';

/** `seconds` of a 300 Hz tone at `rate`: loud enough that FakeStt hears a word per 200 ms. */
export function toneWav(seconds: number, rate = 16000): Buffer {
  return encodeWavPcm16(sine(300, rate, seconds, 0.3), rate);
}

/** The same audio converted by sox into another container (by file extension), e.g. flac or ogg. */
export function convertWithSox(wav: Buffer, dir: string, extension: string): Buffer {
  const input = path.join(dir, 'in.wav');
  const output = path.join(dir, `out.${extension}`);
  writeFileSync(input, wav);
  execFileSync('sox', [input, output]);
  return readFileSync(output);
}
