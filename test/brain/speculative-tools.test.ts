/**
 * A speculative reply (ReplyRequest.beforeSideEffect set) through the real responder, groq-sdk
 * and the loopback fake Groq server: read-only tools run at once, a tool with side effects
 * waits for the commit (and never runs when the reply is discarded); tools say which they are.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ConversationResponder } from '../../gateway/brain/conversation-responder.ts';
import { GroqLlm } from '../../gateway/brain/groq-llm.ts';
import { StoreConversationMemory } from '../../gateway/brain/memory.ts';
import { ToolRegistry, type Tool } from '../../gateway/brain/tools.ts';
import { createDateTimeTool, DATETIME_TOOL_NAME } from '../../gateway/brain/tools/datetime.ts';
import { combineTools } from '../../gateway/brain/tool-source.ts';
import type { ReplyRequest, ToolSource } from '../../gateway/brain/types.ts';
import { ProviderError } from '../../gateway/providers.ts';
import { startFakeGroqServer, type FakeGroqServer } from '../fakes/fake-groq-server.ts';
import { InMemoryConversationStore } from '../fakes/in-memory-conversation-store.ts';

let fake: FakeGroqServer;
afterEach(async () => fake?.close());

/** A tool that changes something: counts its runs. */
function switchTool(runs: string[], sideEffects?: boolean): Tool {
  return {
    name: 'switch_light',
    description: 'Switch the light.',
    parameters: { type: 'object', properties: { state: { type: 'string' } } },
    ...(sideEffects === undefined ? {} : { sideEffects }),
    execute: (args) => {
      runs.push(String(args.state));
      return 'done';
    },
  };
}

async function setup(tools: Tool[]) {
  fake = await startFakeGroqServer();
  return new ConversationResponder({
    llm: new GroqLlm({ apiKey: 'k', baseUrl: fake.baseUrl, policy: { maxRetries: 0, firstTokenTimeoutMs: 10_000, totalTimeoutMs: 15_000 } }),
    memory: new StoreConversationMemory(new InMemoryConversationStore()),
    tools: new ToolRegistry(tools),
  });
}

/** A commit gate as a speculation hands it out: open() commits, close() discards. */
function gate() {
  let open!: () => void;
  let close!: (err: unknown) => void;
  const promise = new Promise<void>((resolve, reject) => ((open = resolve), (close = reject)));
  promise.catch(() => {});
  let waits = 0;
  return {
    beforeSideEffect: () => (waits++, promise),
    open,
    close,
    get waits() {
      return waits;
    },
  };
}

function speculative(text: string, g: ReturnType<typeof gate>, signal = new AbortController().signal): ReplyRequest {
  return { deviceId: 'dev1', text, signal, beforeSideEffect: g.beforeSideEffect };
}

async function collect(sentences: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const s of sentences) out.push(s);
  return out;
}

describe('tools and speculative replies', () => {
  it('tools have side effects unless marked otherwise; the date/time tool is read-only', () => {
    const registry = new ToolRegistry([createDateTimeTool({ timeZone: 'UTC' }), switchTool([])]);
    expect(registry.hasSideEffects(DATETIME_TOOL_NAME)).toBe(false);
    expect(registry.hasSideEffects('switch_light')).toBe(true); // unmarked: has side effects
    expect(new ToolRegistry([switchTool([], false)]).hasSideEffects('switch_light')).toBe(false);
    expect(new ToolRegistry([switchTool([], true)]).hasSideEffects('switch_light')).toBe(true);
    expect(registry.hasSideEffects('no_such_tool')).toBe(false); // runs nothing
  });

  it('a read-only tool runs in a speculative reply without waiting for the commit', async () => {
    const responder = await setup([createDateTimeTool({ timeZone: 'UTC' })]);
    const g = gate();
    fake.chat.enqueue({ type: 'tool_calls', calls: [{ name: DATETIME_TOOL_NAME, arguments: {} }] }, { type: 'text', text: 'It is noon.' });
    expect(await collect(responder.reply(speculative('What time is it?', g)))).toEqual(['It is noon.']);
    expect(g.waits).toBe(0);
    expect(fake.chat.requests).toHaveLength(2);
  });

  it('a tool with side effects waits for the commit: the words before it come out, the tool runs after', async () => {
    const runs: string[] = [];
    const responder = await setup([switchTool(runs)]);
    const g = gate();
    fake.chat.enqueue(
      { type: 'tool_calls', text: 'Let me switch it.', calls: [{ name: 'switch_light', arguments: { state: 'on' } }] },
      { type: 'text', text: 'The light is on.' },
    );
    const sentences = responder.reply(speculative('Light on', g))[Symbol.asyncIterator]();
    expect(await sentences.next()).toEqual({ done: false, value: 'Let me switch it.' });
    const next = sentences.next();
    await fake.chat.requests[0]!.ended;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(g.waits).toBe(1);
    expect(runs).toEqual([]); // not while speculative
    expect(fake.chat.requests).toHaveLength(1);
    g.open(); // committed
    expect(await next).toEqual({ done: false, value: 'The light is on.' });
    expect(runs).toEqual(['on']);
    expect((await sentences.next()).done).toBe(true);
  });

  it('a discarded speculative reply never runs the tool: the wait ends the reply', async () => {
    const runs: string[] = [];
    const responder = await setup([switchTool(runs)]);
    const g = gate();
    const turn = new AbortController();
    fake.chat.enqueue({ type: 'tool_calls', calls: [{ name: 'switch_light', arguments: { state: 'off' } }] });
    const reply = collect(responder.reply(speculative('Light off', g, turn.signal)));
    reply.catch(() => {}); // awaited below
    const [request] = await fake.chat.waitForRequests(1);
    await request!.ended;
    await new Promise((resolve) => setTimeout(resolve, 50));
    const reason = new ProviderError('speculative reply discarded', false, 'aborted');
    turn.abort(reason);
    g.close(reason);
    await expect(reply).rejects.toBeInstanceOf(ProviderError);
    expect(runs).toEqual([]);
    expect(fake.chat.requests).toHaveLength(1);
  });

  it('a device’s own tools (a ToolSource that does not say) count as having side effects', async () => {
    const ran: string[] = [];
    const device: ToolSource = {
      definitions: () => [{ name: 'self_set_volume', description: 'Set the speaker volume.', parameters: { type: 'object', properties: {} } }],
      run: async (call) => (ran.push(call.name), 'ok'),
    };
    const toolbox = combineTools([new ToolRegistry([createDateTimeTool({ timeZone: 'UTC' })]), device])!;
    expect(toolbox.hasSideEffects('self_set_volume')).toBe(true);
    expect(toolbox.hasSideEffects(DATETIME_TOOL_NAME)).toBe(false);
    expect(combineTools([{ ...device, hasSideEffects: () => false }])!.hasSideEffects('self_set_volume')).toBe(false);

    const responder = await setup([]);
    const g = gate();
    fake.chat.enqueue({ type: 'tool_calls', calls: [{ name: 'self_set_volume', arguments: {} }] }, { type: 'text', text: 'Volume set.' });
    const reply = collect(responder.reply({ ...speculative('Louder', g), tools: device }));
    const [request] = await fake.chat.waitForRequests(1);
    await request!.ended;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(ran).toEqual([]); // waits for the commit
    g.open();
    expect(await reply).toEqual(['Volume set.']);
    expect(ran).toEqual(['self_set_volume']);
  });

  it('a request that is not speculative runs tools with side effects at once', async () => {
    const runs: string[] = [];
    const responder = await setup([switchTool(runs)]);
    fake.chat.enqueue({ type: 'tool_calls', calls: [{ name: 'switch_light', arguments: { state: 'on' } }] }, { type: 'text', text: 'Done.' });
    expect(await collect(responder.reply({ deviceId: 'dev1', text: 'Light on', signal: new AbortController().signal }))).toEqual(['Done.']);
    expect(runs).toEqual(['on']);
  });
});
