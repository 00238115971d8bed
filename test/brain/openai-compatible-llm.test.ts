/** OpenAI-compatible specifics beyond the shared LlmProvider contract (llm-provider-contract.test.ts). */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { OpenAiCompatibleLlm } from '../../gateway/brain/openai-compatible-llm.ts';
import { startFakeOpenAiCompatibleServer, type FakeGroqServer } from '../fakes/fake-groq-server.ts';
import { collect, failure } from './llm-provider-contract.ts';

const USER = [{ role: 'user' as const, content: 'hi' }];
let fake: FakeGroqServer | undefined;
let raw: http.Server | undefined;
afterEach(async () => {
  await fake?.close();
  await new Promise((resolve) => (raw ? raw.close(resolve) : resolve(undefined)));
  fake = undefined;
  raw = undefined;
});

/** A bare server for wire details the fake does not script (odd SSE framing, in-stream errors). */
async function rawServer(handler: http.RequestListener): Promise<string> {
  raw = http.createServer(handler);
  await new Promise<void>((resolve) => raw!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(raw.address() as AddressInfo).port}/v1`;
}

describe('OpenAiCompatibleLlm', () => {
  it('posts to {baseUrl}/chat/completions with the model, and the API key when one is set', async () => {
    fake = await startFakeOpenAiCompatibleServer({ apiKey: 'sk-local' });
    fake.chat.enqueue({ type: 'text', text: 'Local hello.' });
    const llm = new OpenAiCompatibleLlm({ baseUrl: `${fake.baseUrl}/`, model: 'qwen2.5:3b', apiKey: 'sk-local' });
    expect((await collect(llm.stream({ messages: USER, signal: new AbortController().signal }))).join('')).toBe('Local hello.');
    expect(fake.chat.requests[0]!.path).toBe('/v1/chat/completions');
    expect(fake.chat.requests[0]!.body).toMatchObject({ model: 'qwen2.5:3b', stream: true });
    expect(fake.chat.requests[0]!.headers.authorization).toBe('Bearer sk-local');
  });

  it('sends no Authorization header when no key is configured', async () => {
    fake = await startFakeOpenAiCompatibleServer();
    const llm = new OpenAiCompatibleLlm({ baseUrl: fake.baseUrl });
    await collect(llm.stream({ messages: USER, signal: new AbortController().signal }));
    expect(fake.chat.requests[0]!.headers.authorization).toBeUndefined();
  });

  it('a model the server does not have (404) is missing_model and not retried', async () => {
    fake = await startFakeOpenAiCompatibleServer();
    fake.chat.enqueue({ type: 'error', status: 404, message: "model 'llama3.2' not found, try pulling it first" });
    const llm = new OpenAiCompatibleLlm({ baseUrl: fake.baseUrl });
    const error = await failure(llm.stream({ messages: USER, signal: new AbortController().signal }));
    expect(error.reason).toBe('missing_model');
    expect(error.message).toContain('try pulling it first');
    expect(fake.chat.requests).toHaveLength(1);
    expect(llm.health().ready).toBe(false);
  });

  it('nothing listening: retryable "unavailable"', async () => {
    fake = await startFakeOpenAiCompatibleServer();
    const baseUrl = fake.baseUrl;
    await fake.close();
    fake = undefined;
    const llm = new OpenAiCompatibleLlm({ baseUrl, policy: { maxRetries: 0 } });
    const error = await failure(llm.stream({ messages: USER, signal: new AbortController().signal }));
    expect(error.reason).toBe('unavailable');
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('cannot reach');
  });

  it('parses CRLF-framed SSE cut at odd places, skipping comments', async () => {
    const chunk = (content: string) => JSON.stringify({ choices: [{ index: 0, delta: { content } }] });
    const wire = `data: ${chunk('Hel')}\r\n\r\n: keep-alive comment\r\n\r\ndata: ${chunk('lo.')}\r\n\r\ndata: [DONE]\r\n\r\n`;
    const baseUrl = await rawServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      let at = 0;
      const step = () => {
        if (at >= wire.length) return res.end();
        res.write(wire.slice(at, at + 7)); // 7-byte pieces cut CRLFs and JSON apart
        at += 7;
        setImmediate(step);
      };
      step();
    });
    const llm = new OpenAiCompatibleLlm({ baseUrl });
    expect((await collect(llm.stream({ messages: USER, signal: new AbortController().signal }))).join('')).toBe('Hello.');
  });

  it('an error event inside the stream fails the request', async () => {
    const baseUrl = await rawServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(`data: ${JSON.stringify({ error: { message: 'out of memory' } })}\n\n`);
    });
    const llm = new OpenAiCompatibleLlm({ baseUrl, policy: { maxRetries: 0 } });
    const error = await failure(llm.stream({ messages: USER, signal: new AbortController().signal }));
    expect(error.message).toContain('out of memory');
  });
});
