import { afterEach, describe, expect, it } from 'vitest';
import { FallbackLlm } from '../../gateway/brain/fallback-llm.ts';
import { GroqLlm } from '../../gateway/brain/groq-llm.ts';
import { createLlmProvider } from '../../gateway/brain/index.ts';
import { OpenAiCompatibleLlm } from '../../gateway/brain/openai-compatible-llm.ts';
import { loadConfig } from '../../gateway/config.ts';
import { startFakeGroqServer, startFakeOpenAiCompatibleServer, type FakeGroqServer } from '../fakes/fake-groq-server.ts';
import { collect, failure } from './llm-provider-contract.ts';

const USER = [{ role: 'user' as const, content: 'hi' }];
let groq: FakeGroqServer;
let local: FakeGroqServer;
afterEach(async () => {
  await groq?.close();
  await local?.close();
});

async function setup(policy = { maxRetries: 0, firstTokenTimeoutMs: 10_000, totalTimeoutMs: 15_000 }) {
  groq = await startFakeGroqServer();
  local = await startFakeOpenAiCompatibleServer();
  const warnings: unknown[] = [];
  const llm = new FallbackLlm(
    [new GroqLlm({ apiKey: 'k', baseUrl: groq.baseUrl, policy }), new OpenAiCompatibleLlm({ baseUrl: local.baseUrl, policy })],
    { warn: (obj: unknown) => warnings.push(obj) },
  );
  return { llm, warnings };
}

describe('FallbackLlm', () => {
  it('uses the first provider when it answers', async () => {
    const { llm } = await setup();
    groq.chat.enqueue({ type: 'text', text: 'From Groq.' });
    expect((await collect(llm.stream({ messages: USER, signal: new AbortController().signal }))).join('')).toBe('From Groq.');
    expect(local.chat.requests).toHaveLength(0);
    expect(llm.name).toBe('groq,openai');
  });

  it('the next provider serves when the first fails before its first token (401, 500, timeout)', async () => {
    const { llm, warnings } = await setup({ maxRetries: 0, firstTokenTimeoutMs: 300, totalTimeoutMs: 15_000 });
    groq.chat.enqueue({ type: 'error', status: 401 }, { type: 'error', status: 500 }, { type: 'hang' });
    local.chat.setDefault({ type: 'text', text: 'From the local server.' });
    for (let i = 0; i < 3; i++) {
      expect((await collect(llm.stream({ messages: USER, signal: new AbortController().signal }))).join('')).toBe('From the local server.');
    }
    expect(groq.chat.requests).toHaveLength(3);
    expect(local.chat.requests).toHaveLength(3);
    expect(local.chat.requests[0]!.body.messages).toEqual(USER);
    expect(warnings).toHaveLength(3);
  });

  it('does not switch providers once the first one has started answering', async () => {
    const { llm } = await setup();
    groq.chat.enqueue({ type: 'text', text: 'one two three', dropAfterTokens: 1 });
    const seen: string[] = [];
    const error = await failure(
      (async function* () {
        for await (const d of llm.stream({ messages: USER, signal: new AbortController().signal })) yield seen.push(d);
      })(),
    );
    expect(seen).toEqual(['one']);
    expect(error.retryable).toBe(true);
    expect(local.chat.requests).toHaveLength(0);
  });

  it('does not fall back after an abort', async () => {
    const { llm } = await setup();
    groq.chat.enqueue({ type: 'hang' });
    const controller = new AbortController();
    const pending = failure(llm.stream({ messages: USER, signal: controller.signal }));
    await groq.chat.waitForRequests(1);
    controller.abort();
    expect((await pending).reason).toBe('aborted');
    expect(local.chat.requests).toHaveLength(0);
  });

  it('when every provider fails, the error names them all', async () => {
    const { llm } = await setup();
    groq.chat.enqueue({ type: 'error', status: 401 });
    local.chat.enqueue({ type: 'error', status: 503 });
    const error = await failure(llm.stream({ messages: USER, signal: new AbortController().signal }));
    expect(error.message).toMatch(/groq.*401.*openai.*503/s);
    expect(error.retryable).toBe(true);
  });

  it('health is ready while any provider is; details list each', async () => {
    groq = await startFakeGroqServer();
    local = await startFakeOpenAiCompatibleServer();
    const llm = new FallbackLlm([new GroqLlm({ baseUrl: groq.baseUrl }), new OpenAiCompatibleLlm({ baseUrl: local.baseUrl })]);
    const health = llm.health();
    expect(health.ready).toBe(true);
    expect(health.detail).toContain('groq: not ready (GROQ_API_KEY is not set)');
    expect(health.detail).toContain('openai: ready');
  });

  it('is what createLlmProvider builds for VOXGATE_LLM=groq,openai (a single name gives that provider)', async () => {
    groq = await startFakeGroqServer();
    local = await startFakeOpenAiCompatibleServer();
    const env = { GROQ_API_KEY: 'k', GROQ_BASE_URL: groq.baseUrl, VOXGATE_OPENAI_BASE_URL: local.baseUrl, VOXGATE_OPENAI_MODEL: 'phi3' };
    const both = createLlmProvider(loadConfig({ env: { ...env, VOXGATE_LLM: 'groq,openai' } }));
    expect(both.name).toBe('groq,openai');
    groq.chat.enqueue({ type: 'error', status: 401 });
    local.chat.enqueue({ type: 'text', text: 'Phi here.' });
    expect((await collect(both.stream({ messages: USER, signal: new AbortController().signal }))).join('')).toBe('Phi here.');
    expect(local.chat.requests[0]!.body.model).toBe('phi3');
    expect(createLlmProvider(loadConfig({ env: { ...env, VOXGATE_LLM: 'openai' } }))).toBeInstanceOf(OpenAiCompatibleLlm);
    expect(createLlmProvider(loadConfig({ env }))).toBeInstanceOf(GroqLlm);
  });
});
