/**
 * espeak-ng off the event loop (issue 13 §2): each sentence's process is started and read by
 * the provider's host process, never by the gateway, and at most `maxConcurrent` run at once;
 * the rest wait in order, and an aborted request leaves the queue or has its process killed.
 * Real espeak-ng; which process started each one is read from /proc.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EspeakTtsProvider } from '../../gateway/speech/espeak-tts.ts';
import { EspeakSchema } from '../../gateway/speech/speech-config.ts';
import { quietLogger } from './helpers/providers.ts';

const SENTENCE = 'The front door is locked, and the heating is set to twenty one degrees.';
const signal = () => new AbortController().signal;

/** Parent process ids of the espeak-ng processes running now. */
function espeakParents(): number[] {
  const parents: number[] = [];
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      if (/^Name:\s+espeak-ng$/m.test(status)) parents.push(Number(/^PPid:\s+(\d+)$/m.exec(status)![1]));
    } catch {
      // gone meanwhile
    }
  }
  return parents;
}

let provider: EspeakTtsProvider;
beforeAll(async () => {
  provider = new EspeakTtsProvider(EspeakSchema.parse({ maxConcurrent: 2 }), quietLogger());
  await provider.start();
  expect(provider.health().ready).toBe(true);
});
afterAll(() => provider.close());

describe('espeak-ng in its host process', () => {
  it('runs at most maxConcurrent processes, all children of the host, none of the gateway, and serves every request', async () => {
    const jobs = Array.from({ length: 6 }, () => provider.synthesize(SENTENCE, { signal: signal() }));
    expect(provider.health().detail).toBe('voice en-us, 2 running, 4 queued');
    let settled = false;
    const all = Promise.all(jobs).finally(() => (settled = true));
    const seen: number[] = [];
    while (!settled) {
      const parents = espeakParents().filter((ppid) => ppid === provider.hostPid || ppid === process.pid);
      expect(parents.length).toBeLessThanOrEqual(2);
      seen.push(...parents);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    expect(seen.length).toBeGreaterThan(0);
    expect(new Set(seen)).toEqual(new Set([provider.hostPid]));
    const audio = await all;
    for (const clip of audio) {
      expect(clip.sampleRate).toBe(22050);
      expect(clip.samples.length).toBe(audio[0]!.samples.length);
    }
    expect(provider.health().detail).toBe('voice en-us, 0 running, 0 queued');
  });

  it('drops an aborted request from the queue and kills an aborted running one', async () => {
    const controllers = Array.from({ length: 3 }, () => new AbortController());
    const jobs = controllers.map((c) => provider.synthesize(SENTENCE, { signal: c.signal }));
    for (const job of jobs) job.catch(() => {});
    controllers[2]!.abort(); // queued
    controllers[0]!.abort(); // running
    await expect(jobs[2]).rejects.toMatchObject({ reason: 'aborted' });
    await expect(jobs[0]).rejects.toMatchObject({ reason: 'aborted' });
    expect((await jobs[1]!).samples.length).toBeGreaterThan(0);
    expect(provider.health().detail).toBe('voice en-us, 0 running, 0 queued');
  });
});
