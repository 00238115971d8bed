/**
 * Silero detectors on the codec workers (the event loop runs none), with the real Silero VAD
 * and real speech: realtime listening's speech-start detector reports speech once until it is
 * reset, and gives its instance back at release; an end-of-turn detector reports the end of
 * an utterance once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readMicWav } from '../../device-sim/index.ts';
import { CodecPool } from '../../gateway/audio/codec-pool.ts';
import { SILERO_VAD_MODEL, SPEECH_60S_WAV } from '../helpers/fixture-paths.ts';
import { quietLogger } from '../speech/helpers/providers.ts';

const VAD = { model: SILERO_VAD_MODEL, threshold: 0.5, silenceMs: 700, minSpeechMs: 250 };
const FRAME = 960; // 60 ms at 16 kHz

let pool: CodecPool;
let speech: Float32Array;
beforeAll(async () => {
  pool = await CodecPool.start({ workers: 1, cachedRates: [16000], vad: VAD, logger: quietLogger() });
  speech = (await readMicWav(SPEECH_60S_WAV)).slice(16000, 16000 * 3);
});
afterAll(() => pool.close());

/** Feeds audio frame by frame, as a device would, then waits until the worker has seen it all (a stats round trip comes after it). */
async function feed(accept: (samples: Float32Array) => unknown, audio: Float32Array): Promise<void> {
  for (let at = 0; at < audio.length; at += FRAME) accept(audio.slice(at, at + FRAME));
  await pool.workerStats();
}

describe('Silero detectors on the codec workers', () => {
  it('speech start: silence is not speech; speech is reported once until reset, then again; release frees the detector', async () => {
    const detector = pool.turnEndDetectors()!.createSpeechStart!();
    let heard = 0;
    detector.onSpeech!(() => heard++);
    expect((await pool.workerStats())[0]!.detectors).toBe(1);

    await feed((s) => detector.accept(s), new Float32Array(16000));
    expect(heard).toBe(0);
    await feed((s) => expect(detector.accept(s)).toBe(false), speech);
    expect(heard).toBe(1);
    await feed((s) => detector.accept(s), speech); // already heard: nothing more until reset
    expect(heard).toBe(1);

    detector.reset();
    await feed((s) => detector.accept(s), new Float32Array(16000));
    await feed((s) => detector.accept(s), speech);
    expect(heard).toBe(2);

    detector.release();
    await feed((s) => detector.accept(s), speech);
    expect(heard).toBe(2);
    expect((await pool.workerStats())[0]!.detectors).toBe(0);
  });

  it('end of turn: speech then the configured silence ends it once, and the detector is gone', async () => {
    const detector = pool.turnEndDetectors()!.create();
    let ended = 0;
    detector.onEnded!(() => ended++);
    await feed((s) => detector.accept(s), speech);
    expect(ended).toBe(0);
    await feed((s) => detector.accept(s), new Float32Array(16000));
    expect(ended).toBe(1);
    expect(detector.accept(new Float32Array(FRAME))).toBe(true);
    expect((await pool.workerStats())[0]!.detectors).toBe(0);
    detector.release!();
  });
});
