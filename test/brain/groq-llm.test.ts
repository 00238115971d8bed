/** Groq-specific behaviour beyond the shared LlmProvider contract (llm-provider-contract.test.ts). */
import { afterEach, describe, expect, it } from 'vitest';
import { GroqLlm, DEFAULT_GROQ_LLM_MODEL } from '../../gateway/brain/groq-llm.ts';
import { MAX_RETRY_DELAY_MS } from '../../gateway/brain/llm-call-policy.ts';
import { startFakeGroqServer, type FakeGroqServer } from '../fakes/fake-groq-server.ts';
import { collect, failure } from './llm-provider-contract.ts';

const USER = [{ role: 'user' as const, content: 'hi' }];
let fake: FakeGroqServer;
afterEach(async () => fake?.close());

describe('GroqLlm', () => {
  it('asks for the default model, streamed, with a token cap and the API key', async () => {
    fake = await startFakeGroqServer({ apiKey: 'gsk_secret' });
    fake.chat.enqueue({ type: 'text', text: 'Hello.' });
    const llm = new GroqLlm({ apiKey: 'gsk_secret', baseUrl: fake.baseUrl });
    expect((await collect(llm.stream({ messages: USER, signal: new AbortController().signal }))).join('')).toBe('Hello.');
    const request = fake.chat.requests[0]!;
    expect(request.path).toBe('/openai/v1/chat/completions');
    expect(request.body).toMatchObject({ model: DEFAULT_GROQ_LLM_MODEL, stream: true, max_tokens: 400 });
    expect(request.body.tools).toBeUndefined();
    expect(request.headers.authorization).toBe('Bearer gsk_secret');
  });

  it('uses the configured model', async () => {
    fake = await startFakeGroqServer();
    const llm = new GroqLlm({ apiKey: 'k', baseUrl: fake.baseUrl, model: 'llama-3.3-70b-versatile' });
    await collect(llm.stream({ messages: USER, signal: new AbortController().signal }));
    expect(fake.chat.requests[0]!.body.model).toBe('llama-3.3-70b-versatile');
  });

  it('without an API key: not ready, and requests fail without touching the network', async () => {
    fake = await startFakeGroqServer();
    const llm = new GroqLlm({ baseUrl: fake.baseUrl });
    expect(llm.health()).toMatchObject({ name: 'groq', ready: false, detail: 'GROQ_API_KEY is not set' });
    const error = await failure(llm.stream({ messages: USER, signal: new AbortController().signal }));
    expect(error.reason).toBe('unavailable');
    expect(error.retryable).toBe(false);
    expect(fake.chat.requests).toHaveLength(0);
  });

  it('the SDK does not retry on its own: with no retries allowed, one 500 is one request', async () => {
    fake = await startFakeGroqServer();
    fake.chat.enqueue({ type: 'error', status: 500 }, { type: 'text', text: 'not asked' });
    const llm = new GroqLlm({ apiKey: 'k', baseUrl: fake.baseUrl, policy: { maxRetries: 0 } });
    const error = await failure(llm.stream({ messages: USER, signal: new AbortController().signal }));
    expect(error.retryable).toBe(true);
    expect(fake.chat.requests).toHaveLength(1);
  });

  it('does not wait out a long retry-after (the next provider may serve)', async () => {
    fake = await startFakeGroqServer();
    fake.chat.enqueue({ type: 'error', status: 429, retryAfterSeconds: (MAX_RETRY_DELAY_MS / 1000) * 10 }, { type: 'text', text: 'not asked' });
    const llm = new GroqLlm({ apiKey: 'k', baseUrl: fake.baseUrl, policy: { maxRetries: 3 } });
    const error = await failure(llm.stream({ messages: USER, signal: new AbortController().signal }));
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('429');
    expect(fake.chat.requests).toHaveLength(1);
  });

  it('an unreachable server is a retryable "unavailable" error', async () => {
    fake = await startFakeGroqServer();
    const baseUrl = fake.baseUrl;
    await fake.close();
    const llm = new GroqLlm({ apiKey: 'k', baseUrl, policy: { maxRetries: 0 } });
    const error = await failure(llm.stream({ messages: USER, signal: new AbortController().signal }));
    expect(error.reason).toBe('unavailable');
    expect(error.retryable).toBe(true);
    expect(llm.health().ready).toBe(true); // transient: still worth trying
    expect(llm.health().detail).toContain('last request failed');
  });

  it('a 400 (bad request) is not retryable', async () => {
    fake = await startFakeGroqServer();
    fake.chat.enqueue({ type: 'error', status: 400, message: 'messages: bad' });
    const llm = new GroqLlm({ apiKey: 'k', baseUrl: fake.baseUrl });
    const error = await failure(llm.stream({ messages: USER, signal: new AbortController().signal }));
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('messages: bad');
    expect(fake.chat.requests).toHaveLength(1);
  });
});
