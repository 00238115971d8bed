/**
 * The contract every SttProvider must keep, as one suite run against each implementation
 * (sherpa-onnx on the fixture model, Groq Whisper against the loopback fake, the fallback
 * composition, the test fakes). Never asserts recognition accuracy: the fixtures'
 * text is deterministic garbage.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProviderError } from '../../gateway/providers.ts';
import { STT_SAMPLE_RATE, type SttProvider } from '../../gateway/speech/types.ts';

export interface SttContractSubject {
  provider: SttProvider;
  /** 16 kHz speech the provider is known to turn into non-empty text (a few seconds). */
  speech: Float32Array;
  /** Called before each turn that must produce text (e.g. to script a fake server). */
  beforeTurn?: (expected: 'speech' | 'silence') => void;
  /** Same audio, same text (a local model): concurrent turns must then agree exactly. */
  deterministic?: boolean;
  close(): Promise<void>;
}

/** 20 ms, a common device frame. */
const FRAME = STT_SAMPLE_RATE / 50;

function pushAll(stream: { push(s: Float32Array): void }, samples: Float32Array): void {
  for (let i = 0; i < samples.length; i += FRAME) stream.push(samples.subarray(i, i + FRAME));
}

/** Pushes frames with a yield between them so streaming providers see audio arrive over time. */
async function pushPaced(stream: { push(s: Float32Array): void }, samples: Float32Array, framesPerYield = 5): Promise<void> {
  for (let i = 0, n = 0; i < samples.length; i += FRAME, n++) {
    stream.push(samples.subarray(i, i + FRAME));
    if (n % framesPerYield === 0) await new Promise((r) => setTimeout(r, 5));
  }
}

async function expectAborted(promise: Promise<unknown>): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(ProviderError);
  expect((error as ProviderError).reason).toBe('aborted');
}

export function describeSttContract(label: string, makeSubject: () => Promise<SttContractSubject>): void {
  describe(`SttProvider contract: ${label}`, () => {
    let subject: SttContractSubject;
    beforeAll(async () => {
      subject = await makeSubject();
    }, 120_000);
    afterAll(async () => {
      await subject?.close();
    });

    it('declares its capabilities and is ready', () => {
      const { provider } = subject;
      expect(typeof provider.name).toBe('string');
      expect(typeof provider.capabilities.streaming).toBe('boolean');
      expect(typeof provider.capabilities.partials).toBe('boolean');
      if (provider.capabilities.partials) expect(provider.capabilities.streaming).toBe(true);
      const health = provider.health();
      expect(health.ready, health.detail).toBe(true);
    });

    it('turns a turn of speech into a final transcript', async () => {
      subject.beforeTurn?.('speech');
      const stream = subject.provider.createStream({ signal: new AbortController().signal });
      pushAll(stream, subject.speech);
      const result = await stream.finish();
      expect(typeof result.text).toBe('string');
      expect(result.text.trim().length).toBeGreaterThan(0);
    });

    it('gives an empty final for a turn without audio, and for digital silence', async () => {
      subject.beforeTurn?.('silence');
      const empty = subject.provider.createStream({ signal: new AbortController().signal });
      expect((await empty.finish()).text).toBe('');
      subject.beforeTurn?.('silence');
      const silent = subject.provider.createStream({ signal: new AbortController().signal });
      pushAll(silent, new Float32Array(STT_SAMPLE_RATE));
      expect((await silent.finish()).text).toBe('');
    });

    it('calls finish() idempotently and ignores audio pushed after it', async () => {
      subject.beforeTurn?.('speech');
      const stream = subject.provider.createStream({ signal: new AbortController().signal });
      pushAll(stream, subject.speech);
      const first = stream.finish();
      expect(() => stream.push(subject.speech.subarray(0, FRAME))).not.toThrow();
      const [a, b] = await Promise.all([first, stream.finish()]);
      expect(b.text).toBe(a.text);
    });

    it('emits partials only when the text changes, if it declares partials', async () => {
      subject.beforeTurn?.('speech');
      const partials: string[] = [];
      const stream = subject.provider.createStream({ signal: new AbortController().signal, onPartial: (t) => partials.push(t) });
      await pushPaced(stream, subject.speech);
      const { text } = await stream.finish();
      if (!subject.provider.capabilities.partials) {
        expect(partials).toEqual([]);
        return;
      }
      expect(partials.length).toBeGreaterThan(0);
      for (let i = 1; i < partials.length; i++) expect(partials[i]).not.toBe(partials[i - 1]);
      expect(text.length).toBeGreaterThan(0);
    });

    it('rejects finish() with an aborted ProviderError when the turn is aborted', async () => {
      const controller = new AbortController();
      const stream = subject.provider.createStream({ signal: controller.signal });
      pushAll(stream, subject.speech.subarray(0, STT_SAMPLE_RATE / 2));
      controller.abort();
      await expectAborted(stream.finish());
    });

    it('refuses a turn whose signal is already aborted', async () => {
      const controller = new AbortController();
      controller.abort();
      let stream;
      try {
        stream = subject.provider.createStream({ signal: controller.signal });
      } catch (err) {
        expect(err).toBeInstanceOf(ProviderError);
        expect((err as ProviderError).reason).toBe('aborted');
        return;
      }
      await expectAborted(stream.finish());
    });

    it('serves concurrent turns independently', async () => {
      const turns = [0, 1, 2].map(() => {
        subject.beforeTurn?.('speech');
        return subject.provider.createStream({ signal: new AbortController().signal });
      });
      // Interleave their audio frame by frame, as the gateway would with several devices.
      for (let i = 0; i < subject.speech.length; i += FRAME) {
        for (const turn of turns) turn.push(subject.speech.subarray(i, i + FRAME));
      }
      const results = await Promise.all(turns.map((t) => t.finish()));
      for (const r of results) expect(r.text.trim().length).toBeGreaterThan(0);
      if (subject.deterministic) {
        subject.beforeTurn?.('speech');
        const alone = subject.provider.createStream({ signal: new AbortController().signal });
        pushAll(alone, subject.speech);
        const { text } = await alone.finish();
        for (const r of results) expect(r.text).toBe(text);
      }
    });
  });
}
