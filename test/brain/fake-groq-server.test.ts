/** The fake Groq server speaks the real API: these drive it with the real groq-sdk. */
import { afterEach, describe, expect, it } from 'vitest';
import Groq from 'groq-sdk';
import { startFakeGroqServer, startFakeOpenAiCompatibleServer, type FakeGroqServer } from '../fakes/fake-groq-server.ts';

let fake: FakeGroqServer;
afterEach(async () => fake?.close());

function client(maxRetries = 0): Groq {
  return new Groq({ apiKey: 'test-key', baseURL: fake.baseUrl, maxRetries });
}

describe('fake Groq server (driven by groq-sdk)', () => {
  it('streams a text answer as SSE chunks and records the request', async () => {
    fake = await startFakeGroqServer();
    fake.chat.enqueue({ type: 'text', text: 'Hello there. How are you?' });
    const stream = await client().chat.completions.create({
      model: 'llama-3.1-8b-instant',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    const deltas: string[] = [];
    let finish: string | null = null;
    for await (const chunk of stream) {
      deltas.push(chunk.choices[0]?.delta.content ?? '');
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(deltas.join('')).toBe('Hello there. How are you?');
    expect(deltas.filter(Boolean).length).toBe(5);
    expect(finish).toBe('stop');
    const [request] = fake.chat.requests;
    expect(request?.body.messages).toEqual([{ role: 'user', content: 'hi' }]);
    expect(request?.headers.authorization).toBe('Bearer test-key');
    expect(await request?.ended).toBe('completed');
  });

  it('answers stream:false with a whole completion, including tool calls', async () => {
    fake = await startFakeGroqServer();
    fake.chat.enqueue({ type: 'tool_calls', calls: [{ name: 'get_time', arguments: { tz: 'UTC' } }] });
    const done = await client().chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'time?' }] });
    expect(done.choices[0]?.finish_reason).toBe('tool_calls');
    expect(done.choices[0]?.message.tool_calls?.[0]?.function).toEqual({ name: 'get_time', arguments: '{"tz":"UTC"}' });
  });

  it('streams tool calls as OpenAI-style deltas (arguments in pieces)', async () => {
    fake = await startFakeGroqServer();
    fake.chat.enqueue({ type: 'tool_calls', calls: [{ id: 'call_a', name: 'get_time', arguments: '{"timezone":"Europe/Paris"}' }] });
    const stream = await client().chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }], stream: true });
    let args = '';
    let name = '';
    let pieces = 0;
    for await (const chunk of stream) {
      for (const call of chunk.choices[0]?.delta.tool_calls ?? []) {
        if (call.function?.name) name = call.function.name;
        if (call.function?.arguments) {
          args += call.function.arguments;
          pieces++;
        }
      }
    }
    expect(name).toBe('get_time');
    expect(JSON.parse(args)).toEqual({ timezone: 'Europe/Paris' });
    expect(pieces).toBeGreaterThan(1);
  });

  it('answers scripted errors with their status and retry-after', async () => {
    fake = await startFakeGroqServer();
    fake.chat.enqueue({ type: 'error', status: 429, retryAfterSeconds: 0 }, { type: 'error', status: 401 });
    const first = await client().chat.completions.create({ model: 'm', messages: [] }).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(Groq.RateLimitError);
    expect((first as InstanceType<typeof Groq.APIError>).headers?.get('retry-after')).toBe('0');
    const second = await client().chat.completions.create({ model: 'm', messages: [] }).catch((e: unknown) => e);
    expect(second).toBeInstanceOf(Groq.AuthenticationError);
  });

  it('refuses a wrong API key when one is required', async () => {
    fake = await startFakeGroqServer({ apiKey: 'right' });
    const err = await client().chat.completions.create({ model: 'm', messages: [] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Groq.AuthenticationError);
  });

  it('sees the client close a hanging request', async () => {
    fake = await startFakeGroqServer();
    fake.chat.enqueue({ type: 'hang' });
    const controller = new AbortController();
    const pending = client().chat.completions.create({ model: 'm', messages: [], stream: true }, { signal: controller.signal });
    const [request] = await fake.chat.waitForRequests(1);
    controller.abort();
    await expect(pending).rejects.toBeInstanceOf(Groq.APIUserAbortError);
    expect(await request!.ended).toBe('client_closed');
  });

  it('drops the connection mid-stream', async () => {
    fake = await startFakeGroqServer();
    fake.chat.enqueue({ type: 'text', text: 'one two three four', dropAfterTokens: 2 });
    const stream = await client().chat.completions.create({ model: 'm', messages: [], stream: true });
    let text = '';
    const err = await (async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(text).toBe('one two');
    expect(fake.chat.requests[0]?.end).toBe('dropped');
  });

  it('records a transcription upload (fields and file bytes) and returns the configured text', async () => {
    fake = await startFakeGroqServer();
    fake.transcriptions.enqueue({ type: 'text', text: 'what time is it' });
    const bytes = Buffer.from('RIFF....WAVEfake-audio');
    const result = await client().audio.transcriptions.create({
      file: await Groq.toFile(bytes, 'turn.wav', { type: 'audio/wav' }),
      model: 'whisper-large-v3-turbo',
      language: 'en',
      response_format: 'json',
    });
    expect(result.text).toBe('what time is it');
    const [request] = fake.transcriptions.requests;
    expect(request?.fields).toMatchObject({ model: 'whisper-large-v3-turbo', language: 'en', response_format: 'json' });
    expect(request?.file?.name).toBe('turn.wav');
    expect(request?.file?.bytes.equals(bytes)).toBe(true);
  });

  it('fails transcriptions as scripted', async () => {
    fake = await startFakeGroqServer();
    fake.transcriptions.enqueue({ type: 'error', status: 500 });
    const err = await client()
      .audio.transcriptions.create({ file: await Groq.toFile(Buffer.from('x'), 'a.wav'), model: 'w' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Groq.InternalServerError);
  });

  it('serves the OpenAI-compatible variant under /v1', async () => {
    fake = await startFakeOpenAiCompatibleServer();
    fake.chat.enqueue({ type: 'text', text: 'Local answer.' });
    const response = await fetch(`${fake.baseUrl}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'llama3.2', messages: [{ role: 'user', content: 'hi' }], stream: false }),
    });
    const json = (await response.json()) as { choices: Array<{ message: { content: string } }> };
    expect(json.choices[0]?.message.content).toBe('Local answer.');
    expect(fake.chat.requests[0]?.path).toBe('/v1/chat/completions');
    const models = (await (await fetch(`${fake.baseUrl}/models`)).json()) as { data: Array<{ id: string }> };
    expect(models.data.length).toBeGreaterThan(0);
  });
});
