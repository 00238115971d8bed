/**
 * Groq Whisper through the real groq-sdk against the loopback fake: the exact WAV it
 * uploads, language and model passed through, retries of retryable failures, timeouts,
 * aborts and a missing key.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GroqWhisperSttProvider } from '../../gateway/speech/groq-whisper-stt.ts';
import { WhisperSchema } from '../../gateway/speech/speech-config.ts';
import { ProviderError } from '../../gateway/providers.ts';
import { float32ToInt16 } from '../../audio/pcm16.ts';
import { decodeWav } from '../../audio/wav.ts';
import { startFakeGroqServer, type FakeGroqServer } from '../fakes/fake-groq-server.ts';
import { speechClip } from './helpers/audio.ts';
import { quietLogger } from './helpers/providers.ts';

let fake: FakeGroqServer;
beforeAll(async () => {
  fake = await startFakeGroqServer({ apiKey: 'test-key' });
});
afterAll(() => fake.close());

function provider(settings: Record<string, unknown> = {}, apiKey: string | null = 'test-key') {
  return new GroqWhisperSttProvider({
    apiKey: apiKey ?? undefined,
    baseUrl: fake.baseUrl,
    model: 'whisper-large-v3-turbo',
    settings: WhisperSchema.parse({ maxRetries: 0, ...settings }),
    logger: quietLogger(),
  });
}

async function run(p: GroqWhisperSttProvider, audio: Float32Array, options: { language?: string; signal?: AbortSignal } = {}) {
  const stream = p.createStream({ signal: options.signal ?? new AbortController().signal, language: options.language });
  for (let i = 0; i < audio.length; i += 960) stream.push(audio.subarray(i, i + 960));
  return stream.finish();
}

describe('Groq Whisper STT', () => {
  it('uploads the turn as a 16 kHz mono 16-bit WAV, sample for sample, with model and language', async () => {
    const audio = speechClip(2);
    fake.transcriptions.enqueue({ type: 'text', text: ' what time is it ' });
    const before = fake.transcriptions.requests.length;
    const { text } = await run(provider(), audio, { language: 'en' });
    expect(text).toBe('what time is it');
    const request = fake.transcriptions.requests[before]!;
    expect(request.fields.model).toBe('whisper-large-v3-turbo');
    expect(request.fields.language).toBe('en');
    expect(request.file!.name).toBe('turn.wav');
    const bytes = request.file!.bytes;
    expect(bytes.readUInt16LE(22)).toBe(1); // mono
    expect(bytes.readUInt32LE(24)).toBe(16000);
    expect(bytes.readUInt16LE(34)).toBe(16);
    const uploaded = decodeWav(bytes).samples;
    // The recording is 16-bit: float → pcm16 → float is lossless, so the upload is exact.
    expect(Array.from(float32ToInt16(uploaded))).toEqual(Array.from(float32ToInt16(audio)));
    expect(uploaded).toEqual(audio);
  });

  it('retries retryable failures (500, 429) and then succeeds', async () => {
    fake.transcriptions.enqueue({ type: 'error', status: 500 }, { type: 'error', status: 429, retryAfterSeconds: 0 }, { type: 'text', text: 'third time lucky' });
    const before = fake.transcriptions.requests.length;
    const { text } = await run(provider({ maxRetries: 2 }), speechClip(0.5));
    expect(text).toBe('third time lucky');
    expect(fake.transcriptions.requests.length - before).toBe(3);
  });

  it('does not retry a request the server refuses (400), and says it is not retryable', async () => {
    fake.transcriptions.enqueue({ type: 'error', status: 400, message: 'bad audio' });
    const before = fake.transcriptions.requests.length;
    const error = await run(provider({ maxRetries: 2 }), speechClip(0.5)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).retryable).toBe(false);
    expect((error as ProviderError).message).toMatch(/400/);
    expect(fake.transcriptions.requests.length - before).toBe(1);
  });

  it('gives up after the timeout with a retryable timeout error', async () => {
    fake.transcriptions.enqueue({ type: 'hang' });
    const error = await run(provider({ timeoutMs: 300 }), speechClip(0.5)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).reason).toBe('timeout');
    expect((error as ProviderError).retryable).toBe(true);
  });

  it('aborts an upload in flight', async () => {
    fake.transcriptions.enqueue({ type: 'hang' });
    const before = fake.transcriptions.requests.length;
    const controller = new AbortController();
    const pending = run(provider(), speechClip(0.5), { signal: controller.signal });
    await fake.transcriptions.waitForRequests(before + 1);
    controller.abort();
    await expect(pending).rejects.toMatchObject({ reason: 'aborted' });
    expect(await fake.transcriptions.requests[before]!.ended).toBe('client_closed');
  });

  it('is not ready without an API key, and says how to fix that', () => {
    const p = provider({}, null);
    expect(p.health()).toMatchObject({ ready: false, detail: 'GROQ_API_KEY is not set' });
    expect(() => p.createStream({ signal: new AbortController().signal })).toThrow(ProviderError);
  });

  it('reports a wrong API key as a non-retryable failure', async () => {
    const error = await run(provider({}, 'wrong-key'), speechClip(0.5)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).retryable).toBe(false);
    expect((error as ProviderError).message).toMatch(/401/);
  });
});
