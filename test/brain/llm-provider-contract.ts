/**
 * The one contract every LlmProvider passes (the aedes-persistence pattern): the same
 * suite runs against Groq (real groq-sdk) and the OpenAI-compatible provider, each
 * talking to the loopback fake over real HTTP.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ProviderError } from '../../gateway/providers.ts';
import type { LlmCallPolicy } from '../../gateway/brain/llm-call-policy.ts';
import type { ChatMessage, LlmProvider, LlmStreamEvent } from '../../gateway/brain/types.ts';
import type { FakeGroqServer } from '../fakes/fake-groq-server.ts';

export interface LlmContractSubject {
  startServer(): Promise<FakeGroqServer>;
  createProvider(fake: FakeGroqServer, policy: Partial<LlmCallPolicy>): LlmProvider;
}

const USER = [{ role: 'user' as const, content: 'What is the capital of France?' }];
/** Generous: the machine may be loaded; only the order of events is asserted, not speed. */
const RELAXED: Partial<LlmCallPolicy> = { firstTokenTimeoutMs: 10_000, totalTimeoutMs: 15_000, maxRetries: 1 };

export async function collect(stream: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const delta of stream) out.push(delta);
  return out;
}

export async function failure(stream: AsyncIterable<unknown>): Promise<ProviderError> {
  try {
    for await (const _ of stream) {
      // drain
    }
  } catch (err) {
    expect(err).toBeInstanceOf(ProviderError);
    return err as ProviderError;
  }
  throw new Error('expected the stream to fail');
}

export function describeLlmProviderContract(name: string, subject: LlmContractSubject): void {
  describe(`LlmProvider contract: ${name}`, () => {
    let fake: FakeGroqServer;
    afterEach(async () => fake?.close());
    const setup = async (policy: Partial<LlmCallPolicy> = RELAXED) => {
      fake = await subject.startServer();
      return subject.createProvider(fake, policy);
    };

    it('streams the answer as text deltas, in order, and sends the messages', async () => {
      const llm = await setup();
      fake.chat.enqueue({ type: 'text', text: 'Paris is the capital. It is lovely.' });
      const deltas = await collect(llm.stream({ messages: USER, signal: new AbortController().signal }));
      expect(deltas.length).toBeGreaterThan(1);
      expect(deltas.join('')).toBe('Paris is the capital. It is lovely.');
      const body = fake.chat.requests[0]!.body;
      expect(body.stream).toBe(true);
      expect(body.messages).toEqual(USER);
      expect(llm.health()).toMatchObject({ name: llm.name, ready: true });
    });

    it('yields deltas while the server is still streaming', async () => {
      const llm = await setup();
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      fake.chat.enqueue({ type: 'text', text: 'one two three four five six', holdAfterTokens: 1, release: released });
      const iterator = llm.stream({ messages: USER, signal: new AbortController().signal })[Symbol.asyncIterator]();
      const first = await iterator.next();
      expect(first.value).toBe('one');
      expect(fake.chat.requests[0]!.end).toBeUndefined(); // the fake is holding the rest back
      expect(fake.chat.requests[0]!.tokensSent).toBe(1);
      release();
      let rest = '';
      for (let r = await iterator.next(); !r.done; r = await iterator.next()) rest += r.value;
      expect(rest).toBe(' two three four five six');
    });

    it('an abort mid-stream ends the stream with reason aborted and closes the connection', async () => {
      const llm = await setup();
      fake.chat.enqueue({ type: 'text', text: 'a b c d e f g h i j k l m n o p', tokenDelayMs: 50 });
      const controller = new AbortController();
      const seen: string[] = [];
      const error = await failure(
        (async function* () {
          for await (const delta of llm.stream({ messages: USER, signal: controller.signal })) {
            seen.push(delta);
            if (seen.length === 2) controller.abort();
            yield delta;
          }
        })(),
      );
      expect(error.reason).toBe('aborted');
      expect(error.retryable).toBe(false);
      expect(await fake.chat.requests[0]!.ended).toBe('client_closed');
      expect(fake.chat.requests[0]!.tokensSent).toBeLessThan(16);
      expect(fake.chat.requests).toHaveLength(1);
    });

    it('a consumer that stops reading closes the connection', async () => {
      const llm = await setup();
      fake.chat.enqueue({ type: 'text', text: 'a b c d e f g h i j', tokenDelayMs: 50 });
      for await (const _ of llm.stream({ messages: USER, signal: new AbortController().signal })) break;
      expect(await fake.chat.requests[0]!.ended).toBe('client_closed');
    });

    it('an abort before the answer starts closes the waiting request', async () => {
      const llm = await setup();
      fake.chat.enqueue({ type: 'hang' });
      const controller = new AbortController();
      const pending = failure(llm.stream({ messages: USER, signal: controller.signal }));
      await fake.chat.waitForRequests(1);
      controller.abort();
      expect((await pending).reason).toBe('aborted');
      expect(await fake.chat.requests[0]!.ended).toBe('client_closed');
    });

    it('a server that sends nothing fails with a retryable timeout after the first-token timeout', async () => {
      const llm = await setup({ firstTokenTimeoutMs: 300, totalTimeoutMs: 15_000, maxRetries: 1 });
      fake.chat.enqueue({ type: 'text', text: 'too late', firstTokenDelayMs: 10_000 });
      const error = await failure(llm.stream({ messages: USER, signal: new AbortController().signal }));
      expect(error.reason).toBe('timeout');
      expect(error.retryable).toBe(true);
      expect(await fake.chat.requests[0]!.ended).toBe('client_closed');
      expect(fake.chat.requests).toHaveLength(1); // a timeout is not retried: the user is already waiting
    });

    it('a stream that stalls after its first tokens fails at the total timeout', async () => {
      const llm = await setup({ firstTokenTimeoutMs: 10_000, totalTimeoutMs: 600, maxRetries: 1 });
      fake.chat.enqueue({ type: 'text', text: 'one two three four', stallAfterTokens: 2 });
      const seen: string[] = [];
      const error = await failure(
        (async function* () {
          for await (const d of llm.stream({ messages: USER, signal: new AbortController().signal })) yield seen.push(d);
        })(),
      );
      expect(error.reason).toBe('timeout');
      expect(seen).toEqual(['one', ' two']);
      expect(await fake.chat.requests[0]!.ended).toBe('client_closed');
    });

    it('401 is not retried and is not retryable', async () => {
      const llm = await setup();
      fake.chat.enqueue({ type: 'error', status: 401, message: 'Invalid API Key' });
      const error = await failure(llm.stream({ messages: USER, signal: new AbortController().signal }));
      expect(error.retryable).toBe(false);
      expect(error.reason).toBe('unavailable');
      expect(error.message).toContain('401');
      expect(fake.chat.requests).toHaveLength(1);
      expect(llm.health().ready).toBe(false);
    });

    it('429 (with retry-after) and 500 are retried before the first token, then succeed', async () => {
      const llm = await setup();
      fake.chat.enqueue({ type: 'error', status: 429, retryAfterSeconds: 0 }, { type: 'text', text: 'After a 429.' });
      expect((await collect(llm.stream({ messages: USER, signal: new AbortController().signal }))).join('')).toBe('After a 429.');
      fake.chat.enqueue({ type: 'error', status: 500 }, { type: 'text', text: 'After a 500.' });
      expect((await collect(llm.stream({ messages: USER, signal: new AbortController().signal }))).join('')).toBe('After a 500.');
      expect(fake.chat.requests).toHaveLength(4);
      expect(llm.health().ready).toBe(true);
    });

    it('gives up after its retries with a retryable error', async () => {
      const llm = await setup({ ...RELAXED, maxRetries: 1 });
      fake.chat.enqueue({ type: 'error', status: 503 }, { type: 'error', status: 502 }, { type: 'text', text: 'never' });
      const error = await failure(llm.stream({ messages: USER, signal: new AbortController().signal }));
      expect(error.retryable).toBe(true);
      expect(error.message).toContain('502');
      expect(fake.chat.requests).toHaveLength(2);
    });

    it('a connection dropped before the first token is retried', async () => {
      const llm = await setup();
      fake.chat.enqueue({ type: 'drop' }, { type: 'text', text: 'Second try.' });
      expect((await collect(llm.stream({ messages: USER, signal: new AbortController().signal }))).join('')).toBe('Second try.');
      expect(fake.chat.requests[0]!.end).toBe('dropped');
    });

    it('a connection dropped mid-answer fails (retryable) and is not retried', async () => {
      const llm = await setup();
      fake.chat.enqueue({ type: 'text', text: 'one two three four', dropAfterTokens: 2 }, { type: 'text', text: 'should not be asked' });
      const error = await failure(llm.stream({ messages: USER, signal: new AbortController().signal }));
      expect(error.retryable).toBe(true);
      expect(fake.chat.requests).toHaveLength(1);
    });

    it('an empty answer completes with no text', async () => {
      const llm = await setup();
      fake.chat.enqueue({ type: 'empty' });
      expect(await collect(llm.stream({ messages: USER, signal: new AbortController().signal }))).toEqual([]);
    });

    it('sends tools and yields the complete tool calls', async () => {
      const llm = await setup();
      expect(llm.streamEvents).toBeDefined();
      fake.chat.enqueue({ type: 'tool_calls', calls: [{ id: 'call_1', name: 'get_weather', arguments: { city: 'Paris', unit: 'celsius' } }] });
      const events: LlmStreamEvent[] = [];
      const tools = [{ name: 'get_weather', description: 'Weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' } } } }];
      for await (const event of llm.streamEvents!({ messages: USER, tools, signal: new AbortController().signal })) events.push(event);
      expect(events).toEqual([{ type: 'tool_calls', calls: [{ id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris","unit":"celsius"}' }] }]);
      const body = fake.chat.requests[0]!.body;
      expect(body.tools).toEqual([{ type: 'function', function: tools[0] }]);
      expect(body.tool_choice).toBe('auto');
    });

    it('sends assistant tool calls and tool results back in the OpenAI shape', async () => {
      const llm = await setup();
      fake.chat.enqueue({ type: 'text', text: 'It is sunny.' });
      const messages: ChatMessage[] = [
        ...USER,
        { role: 'assistant', content: '', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'w', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 'call_1', name: 'w', content: 'sunny' },
      ];
      await collect(llm.stream({ messages, signal: new AbortController().signal }));
      expect(fake.chat.requests[0]!.body.messages.slice(1)).toEqual([
        { role: 'assistant', content: null, tool_calls: messages[1]!.tool_calls },
        { role: 'tool', tool_call_id: 'call_1', name: 'w', content: 'sunny' },
      ]);
    });
  });
}
