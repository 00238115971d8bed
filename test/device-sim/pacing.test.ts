import { describe, expect, it } from 'vitest';
import { micFrameCount, micFrameSamples, paceFrames, readMicWav, splitFrames } from '../../device-sim/index.ts';
import path from 'node:path';
import { TTS_SAMPLES_DIR } from '../helpers/fixture-paths.ts';

const WAV_22K = path.join(TTS_SAMPLES_DIR, 'armstrong-piper-en_US-lessac-medium.wav'); // 3.74 s

describe('frames', () => {
  it('cuts a WAV into the number of frames its length needs, the last one padded', async () => {
    const speech = await readMicWav(WAV_22K);
    for (const frameMs of [20, 60, 120]) {
      const frames = splitFrames(speech, frameMs);
      expect(frames).toHaveLength(Math.ceil(speech.length / (16 * frameMs)));
      expect(frames).toHaveLength(micFrameCount(speech.length, frameMs));
      expect(frames.every((f) => f.length === micFrameSamples(frameMs))).toBe(true);
    }
    expect(micFrameCount(speech.length, 60)).toBe(63); // 59814 samples / 960
    expect(micFrameCount(960, 60)).toBe(1);
    expect(micFrameCount(961, 60)).toBe(2);
    expect(micFrameCount(0, 60)).toBe(0);
  });
});

describe('pacing', () => {
  it('sends every frame of a WAV in order, no sooner than real time ÷ speed', async () => {
    const speech = await readMicWav(WAV_22K);
    const frameCount = micFrameCount(speech.length, 60);
    const sent: number[] = [];
    const start = performance.now();
    const count = await paceFrames({ frameCount, frameMs: 60, speed: 20, send: (i) => sent.push(i) });
    const elapsed = performance.now() - start;
    expect(count).toBe(frameCount);
    expect(sent).toEqual(Array.from({ length: frameCount }, (_, i) => i));
    // Frame i leaves once it is fully captured: the last one at 63 × 60 ms ÷ 20 = 189 ms. Only a lower bound: no flaky upper one.
    expect(elapsed).toBeGreaterThanOrEqual((frameCount * 60) / 20 - 2);
  });

  it('holds each frame until its capture time (fake clock)', async () => {
    let clock = 0;
    const sentAt: number[] = [];
    const run = paceFrames({ frameCount: 3, frameMs: 60, speed: 1, now: () => clock, send: () => sentAt.push(clock) });
    // Advance the fake clock faster than the timers fire: frames still go out at or after their deadline.
    const ticker = setInterval(() => (clock += 30), 1);
    await run;
    clearInterval(ticker);
    expect(sentAt).toHaveLength(3);
    sentAt.forEach((t, i) => expect(t).toBeGreaterThanOrEqual((i + 1) * 60));
  });

  it('stops early when aborted and reports how many frames went out', async () => {
    const controller = new AbortController();
    const count = await paceFrames({
      frameCount: 1000,
      frameMs: 20,
      speed: 10,
      signal: controller.signal,
      send: (i) => i === 4 && controller.abort(),
    });
    expect(count).toBe(5);
  });

  it('sends everything at once at infinite speed and refuses a speed of 0', async () => {
    expect(await paceFrames({ frameCount: 500, frameMs: 60, speed: Infinity, send: () => {} })).toBe(500);
    expect(() => paceFrames({ frameCount: 1, frameMs: 60, speed: 0, send: () => {} })).toThrow(/speed/);
  });
});
