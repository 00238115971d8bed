/**
 * The contract every TtsProvider must keep, run against each implementation (sherpa-onnx
 * on the fixture voice, espeak-ng for real, the fallback composition, the test fakes).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProviderError } from '../../gateway/providers.ts';
import type { TtsProvider } from '../../gateway/speech/types.ts';

export interface TtsContractSubject {
  provider: TtsProvider;
  /** Whether `speed` changes the length of the audio (a real voice must honour it). */
  honoursSpeed: boolean;
  close(): Promise<void>;
}

const SENTENCE = 'The kitchen light is on now.';

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err,
  );
}

export function describeTtsContract(label: string, makeSubject: () => Promise<TtsContractSubject>): void {
  describe(`TtsProvider contract: ${label}`, () => {
    let subject: TtsContractSubject;
    beforeAll(async () => {
      subject = await makeSubject();
    }, 120_000);
    afterAll(async () => {
      await subject?.close();
    });

    const say = (text: string, extra: { speed?: number; voice?: string } = {}) =>
      subject.provider.synthesize(text, { signal: new AbortController().signal, ...extra });

    it('is ready and lists its voices', () => {
      const { provider } = subject;
      const health = provider.health();
      expect(health.ready, health.detail).toBe(true);
      const voices = provider.voices();
      expect(voices.length).toBeGreaterThan(0);
      for (const voice of voices) {
        expect(voice.id.length).toBeGreaterThan(0);
        expect(voice.sampleRate).toBeGreaterThan(0);
        expect(typeof voice.provider).toBe('string');
      }
    });

    it('speaks a sentence as float PCM in [-1, 1] at a plausible length', async () => {
      const audio = await say(SENTENCE);
      expect(audio.samples).toBeInstanceOf(Float32Array);
      expect(audio.sampleRate).toBeGreaterThanOrEqual(8000);
      const seconds = audio.samples.length / audio.sampleRate;
      expect(seconds).toBeGreaterThan(0.3);
      expect(seconds).toBeLessThan(15);
      let peak = 0;
      let energy = 0;
      for (const v of audio.samples) {
        expect(Number.isFinite(v)).toBe(true);
        peak = Math.max(peak, Math.abs(v));
        energy += v * v;
      }
      expect(peak).toBeLessThanOrEqual(1);
      expect(Math.sqrt(energy / audio.samples.length)).toBeGreaterThan(0.001); // not silence
    });

    it('honours speed when it claims to', async () => {
      const normal = await say(SENTENCE, { speed: 1 });
      const fast = await say(SENTENCE, { speed: 2 });
      if (subject.honoursSpeed) expect(fast.samples.length).toBeLessThan(normal.samples.length * 0.8);
      else expect(fast.samples.length).toBeGreaterThan(0);
    });

    it('returns empty audio for empty text', async () => {
      const audio = await say('   ');
      expect(audio.samples.length).toBe(0);
      expect(audio.sampleRate).toBeGreaterThan(0);
    });

    it('rejects an unknown voice with a ProviderError that is not an abort', async () => {
      const err = await rejection(say(SENTENCE, { voice: 'no-such-voice-xyz' }));
      expect(err).toBeInstanceOf(ProviderError);
      expect((err as ProviderError).reason).not.toBe('aborted');
    });

    it('rejects with aborted when the signal is already aborted, or aborts mid-way', async () => {
      const before = new AbortController();
      before.abort();
      const err1 = await rejection(subject.provider.synthesize(SENTENCE, { signal: before.signal }));
      expect((err1 as ProviderError).reason).toBe('aborted');

      const during = new AbortController();
      const pending = subject.provider.synthesize(`${SENTENCE} ${SENTENCE} ${SENTENCE}`, { signal: during.signal });
      during.abort();
      const err2 = await rejection(pending);
      expect(err2).toBeInstanceOf(ProviderError);
      expect((err2 as ProviderError).reason).toBe('aborted');
    });

    it('serves concurrent sentences, each complete', async () => {
      const texts = ['One sentence.', 'Another sentence here.', 'And a third one, a little longer.'];
      const results = await Promise.all(texts.map((t) => say(t)));
      for (const audio of results) expect(audio.samples.length).toBeGreaterThan(0);
      // Longer text, longer audio: each result belongs to its own request.
      expect(results[2]!.samples.length).toBeGreaterThan(results[0]!.samples.length);
    });
  });
}
