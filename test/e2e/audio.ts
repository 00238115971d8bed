/** Test audio for end-to-end turns: slices of the real-speech fixture recording (test/fixtures/audio/speech-60s), and reply pacing checks. */
import { readMicWav, type SimDevice } from '../../device-sim/index.ts';
import { SPEECH_60S_WAV } from './harness.ts';

let speech: Float32Array | undefined;

/** `seconds` of real speech (16 kHz mono) from the fixture recording, starting at `from` seconds. */
export async function speechClip(seconds: number, from = 1): Promise<Float32Array> {
  speech ??= await readMicWav(SPEECH_60S_WAV);
  return speech.slice(Math.round(from * 16000), Math.round((from + seconds) * 16000));
}

/** Arrival time (performance.now()) of every reply audio packet a device receives from now on. */
export function recordAudioArrivals(device: SimDevice): number[] {
  const arrivals: number[] = [];
  device.on('audio', () => arrivals.push(performance.now()));
  return arrivals;
}

/**
 * How far ahead of real time the reply audio arrived, at worst: for each packet, the audio
 * received so far minus the time since the first packet (the device plays from the first
 * packet on). Pacing by `leadMs` keeps this at most leadMs + one frame; unpaced, it would be
 * nearly the whole reply.
 */
export function maxLeadMs(arrivals: number[], frameMs: number): number {
  let worst = 0;
  for (const [i, at] of arrivals.entries()) worst = Math.max(worst, (i + 1) * frameMs - (at - arrivals[0]!));
  return worst;
}
