/**
 * The responder over the real Groq provider (real groq-sdk) and the loopback fake:
 * sentences go out while the model is still writing, tools run and feed back, and
 * failures surface as ProviderError for the session to turn into a complete turn.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConversationResponder } from '../../gateway/brain/conversation-responder.ts';
import { GroqLlm } from '../../gateway/brain/groq-llm.ts';
import { createResponder } from '../../gateway/brain/index.ts';
import { StoreConversationMemory } from '../../gateway/brain/memory.ts';
import { SPOKEN_REPLY_RULES } from '../../gateway/brain/prompt.ts';
import { ToolRegistry } from '../../gateway/brain/tools.ts';
import { createDateTimeTool, DATETIME_TOOL_NAME } from '../../gateway/brain/tools/datetime.ts';
import type { ReplyRequest } from '../../gateway/brain/types.ts';
import { loadConfig } from '../../gateway/config.ts';
import { createLogger } from '../../gateway/logger.ts';
import { ProviderError } from '../../gateway/providers.ts';
import { openStore } from '../../gateway/store/index.ts';
import { startFakeGroqServer, type FakeGroqServer } from '../fakes/fake-groq-server.ts';
import { InMemoryConversationStore } from '../fakes/in-memory-conversation-store.ts';

const MOMENT = new Date(Date.UTC(2026, 10, 21, 8, 30, 0)); // Saturday 21 November 2026, 09:30 in Paris
let fake: FakeGroqServer;
afterEach(async () => fake?.close());

async function setup(options: { maxToolRounds?: number; persona?: string } = {}) {
  fake = await startFakeGroqServer();
  const store = new InMemoryConversationStore();
  const memory = new StoreConversationMemory(store, { now: () => MOMENT.getTime() });
  const responder = new ConversationResponder({
    llm: new GroqLlm({ apiKey: 'k', baseUrl: fake.baseUrl, policy: { maxRetries: 0, firstTokenTimeoutMs: 10_000, totalTimeoutMs: 15_000 } }),
    memory,
    tools: new ToolRegistry([createDateTimeTool({ timeZone: 'Europe/Paris', now: () => MOMENT })]),
    ...options,
  });
  return { responder, store };
}

function request(text: string, extra: Partial<ReplyRequest> = {}): ReplyRequest {
  return { deviceId: 'dev1', text, signal: new AbortController().signal, ...extra };
}

async function collect(sentences: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const s of sentences) out.push(s);
  return out;
}

async function replyError(sentences: AsyncIterable<string>): Promise<ProviderError> {
  try {
    for await (const _ of sentences) {
      // drain
    }
  } catch (err) {
    expect(err).toBeInstanceOf(ProviderError);
    return err as ProviderError;
  }
  throw new Error('expected the reply to fail');
}

describe('ConversationResponder', () => {
  it('yields the first sentence while the LLM is still streaming the rest', async () => {
    const { responder } = await setup();
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const answer = 'Paris is the capital of France. It has about two million people. The Seine runs through it.';
    // The fake streams slowly and then holds after "… France. It": the first sentence is complete, the rest is not sent.
    fake.chat.enqueue({ type: 'text', text: answer, tokenDelayMs: 20, holdAfterTokens: 7, release: released });
    const events: string[] = [];
    const replying = (async () => {
      for await (const sentence of responder.reply(request('What is the capital of France?', { onFirstToken: () => events.push('first token') }))) {
        events.push(`sentence: ${sentence} (llm ${fake.chat.requests[0]!.end ?? 'still streaming'})`);
        if (events.length === 2) release();
      }
    })();
    await replying;
    events.push(`llm ${await fake.chat.requests[0]!.ended}`);
    expect(events).toEqual([
      'first token',
      'sentence: Paris is the capital of France. (llm still streaming)',
      expect.stringMatching(/^sentence: It has about two million people\./),
      expect.stringMatching(/^sentence: The Seine runs through it\./),
      'llm completed',
    ]);
  });

  it('sends the spoken-reply prompt, the remembered conversation and the question', async () => {
    const { responder, store } = await setup({ persona: 'You are Juniper, a calm assistant.' });
    store.add({ deviceId: 'dev1', startedAt: MOMENT.getTime() - 60_000, transcript: 'My name is Ada.', reply: 'Nice to meet you, Ada.' });
    fake.chat.enqueue({ type: 'text', text: 'Your name is Ada.' });
    expect(await collect(responder.reply(request('What is my name?', { language: 'en' })))).toEqual(['Your name is Ada.']);
    const messages = fake.chat.requests[0]!.body.messages as Array<{ role: string; content: string }>;
    expect(messages[0]!.role).toBe('system');
    expect(messages[0]!.content).toContain('You are Juniper, a calm assistant.');
    expect(messages[0]!.content).toContain(SPOKEN_REPLY_RULES);
    expect(messages[0]!.content).toContain('Always answer in English');
    expect(messages.slice(1)).toEqual([
      { role: 'user', content: 'My name is Ada.' },
      { role: 'assistant', content: 'Nice to meet you, Ada.' },
      { role: 'user', content: 'What is my name?' },
    ]);
    expect(fake.chat.requests[0]!.body.tools[0].function.name).toBe(DATETIME_TOOL_NAME);
  });

  it('cleans markdown, emoji and URLs out of what it yields', async () => {
    const { responder } = await setup();
    fake.chat.enqueue({ type: 'text', text: '## Tips\n- **Drink** water 💧\n- Sleep *well*.\nSee https://www.example.com/health for more.' });
    expect(await collect(responder.reply(request('Tips?')))).toEqual(['Tips', 'Drink water', 'Sleep well.', 'See example.com for more.']);
  });

  it('runs the date/time tool and feeds its result back before speaking the answer', async () => {
    const { responder } = await setup();
    fake.chat.enqueue(
      { type: 'tool_calls', calls: [{ id: 'call_dt', name: DATETIME_TOOL_NAME, arguments: {} }] },
      { type: 'text', text: 'It is nine thirty on Saturday morning.' },
    );
    let firstTokens = 0;
    const sentences = await collect(responder.reply(request('What time is it?', { onFirstToken: () => firstTokens++ })));
    expect(sentences).toEqual(['It is nine thirty on Saturday morning.']);
    expect(firstTokens).toBe(1);
    expect(fake.chat.requests).toHaveLength(2);
    const second = fake.chat.requests[1]!.body.messages as Array<Record<string, any>>;
    const [assistant, tool] = second.slice(-2);
    expect(assistant).toMatchObject({ role: 'assistant', content: null, tool_calls: [{ id: 'call_dt', type: 'function', function: { name: DATETIME_TOOL_NAME, arguments: '{}' } }] });
    expect(tool).toMatchObject({ role: 'tool', tool_call_id: 'call_dt', name: DATETIME_TOOL_NAME });
    expect(JSON.parse(tool!.content)).toMatchObject({ date: 'Saturday, November 21, 2026', time24h: '09:30', timeZone: 'Europe/Paris' });
  });

  it('stops offering tools after the maximum number of rounds', async () => {
    const { responder } = await setup({ maxToolRounds: 2 });
    const call = { type: 'tool_calls' as const, calls: [{ name: DATETIME_TOOL_NAME, arguments: {} }] };
    fake.chat.enqueue(call, call, { type: 'text', text: 'Enough tools, here is the answer.' });
    expect(await collect(responder.reply(request('Loop please')))).toEqual(['Enough tools, here is the answer.']);
    expect(fake.chat.requests.map((r) => r.body.tool_choice)).toEqual(['auto', 'auto', 'none']);
  });

  it('an empty answer is a non-retryable "empty answer" error', async () => {
    const { responder } = await setup();
    fake.chat.enqueue({ type: 'empty' }, { type: 'text', text: '🙂 👍' });
    for (let i = 0; i < 2; i++) {
      const error = await replyError(responder.reply(request('Hello?')));
      expect(error.message).toBe('empty answer');
      expect(error.retryable).toBe(false);
    }
  });

  it('an LLM failure reaches the caller as ProviderError', async () => {
    const { responder } = await setup();
    fake.chat.enqueue({ type: 'error', status: 401 });
    const error = await replyError(responder.reply(request('Hello?')));
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('401');
  });

  it('a barge-in (abort) mid-reply stops it and closes the LLM request', async () => {
    const { responder } = await setup();
    fake.chat.enqueue({ type: 'text', text: 'First sentence here. Second sentence comes. Third one too. And more words follow slowly.', tokenDelayMs: 30 });
    const controller = new AbortController();
    const heard: string[] = [];
    const error = await replyError(
      (async function* () {
        for await (const sentence of responder.reply(request('Talk', { signal: controller.signal }))) {
          heard.push(sentence);
          controller.abort();
          yield sentence;
        }
      })(),
    );
    expect(error.reason).toBe('aborted');
    expect(heard).toEqual(['First sentence here.']);
    expect(await fake.chat.requests[0]!.ended).toBe('client_closed');
  });

  it('a session that stops reading closes the LLM request', async () => {
    const { responder } = await setup();
    fake.chat.enqueue({ type: 'text', text: 'One. Two. Three. Four. Five. Six.', tokenDelayMs: 30 });
    for await (const _ of responder.reply(request('Count'))) break;
    expect(await fake.chat.requests[0]!.ended).toBe('client_closed');
  });

  it('resetConversation forgets the device conversation', async () => {
    const { responder, store } = await setup();
    store.add({ deviceId: 'dev1', startedAt: MOMENT.getTime() - 60_000, transcript: 'Remember 42.', reply: 'Noted.' });
    responder.resetConversation('dev1');
    fake.chat.enqueue({ type: 'text', text: 'I do not know.' });
    await collect(responder.reply(request('What number?')));
    expect(fake.chat.requests[0]!.body.messages.map((m: { role: string }) => m.role)).toEqual(['system', 'user']);
  });
});

describe('createResponder (config + SQLite store + Groq)', () => {
  it('builds a working responder that remembers the conversation across a store reopen', async () => {
    fake = await startFakeGroqServer({ apiKey: 'gsk_test' });
    const dir = mkdtempSync(path.join(tmpdir(), 'voxgate-brain-'));
    const logger = createLogger('silent');
    const config = loadConfig({
      env: { GROQ_API_KEY: 'gsk_test', GROQ_BASE_URL: fake.baseUrl, VOXGATE_TIME_ZONE: 'UTC', VOXGATE_SYSTEM_PROMPT: 'You are Pip.' },
    });
    try {
      let store = openStore(dir);
      store.devices.add('dev1');
      fake.chat.enqueue({ type: 'tool_calls', calls: [{ name: DATETIME_TOOL_NAME, arguments: {} }] }, { type: 'text', text: 'It is morning. Have a nice day!' });
      const started = Date.now();
      const sentences = await collect(createResponder(config, { store, logger }).reply(request('What time is it?')));
      expect(sentences).toEqual(['It is morning.', 'Have a nice day!']);
      expect(JSON.parse(fake.chat.requests[1]!.body.messages.at(-1).content).timeZone).toBe('UTC');
      expect(fake.chat.requests[0]!.body.messages[0].content).toContain('You are Pip.');
      store.turns.recordTurn({ deviceId: 'dev1', turn: 1, kind: 'text', startedAt: started, endedAt: Date.now(), transcript: 'What time is it?', reply: sentences.join(' '), timings: {}, outcome: 'completed' });
      store.close();

      store = openStore(dir); // a restart
      fake.chat.enqueue({ type: 'text', text: 'You asked the time.' });
      const responder = createResponder(config, { store, logger });
      await collect(responder.reply(request('What did I ask?')));
      expect(fake.chat.requests[2]!.body.messages.slice(1)).toEqual([
        { role: 'user', content: 'What time is it?' },
        { role: 'assistant', content: 'It is morning. Have a nice day!' },
        { role: 'user', content: 'What did I ask?' },
      ]);
      responder.resetConversation('dev1');
      fake.chat.enqueue({ type: 'text', text: 'No idea.' });
      await collect(responder.reply(request('What did I ask?')));
      expect(fake.chat.requests[3]!.body.messages).toHaveLength(2);
      store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('ConversationResponder with several sentences in one token', () => {
  it('yields nothing more after an abort, even from text already received', async () => {
    fake = await startFakeGroqServer();
    const responder = new ConversationResponder({
      llm: new GroqLlm({ apiKey: 'k', baseUrl: fake.baseUrl }),
      memory: new StoreConversationMemory(new InMemoryConversationStore()),
    });
    fake.chat.enqueue({ type: 'text', text: '', tokens: ['One. Two. Three. Four.'] });
    const controller = new AbortController();
    const heard: string[] = [];
    const error = await replyError(
      (async function* () {
        for await (const sentence of responder.reply(request('Count', { signal: controller.signal }))) {
          heard.push(sentence);
          controller.abort();
          yield sentence;
        }
      })(),
    );
    expect(error.reason).toBe('aborted');
    expect(heard).toEqual(['One.']);
  });
});
