/**
 * Preemptive generation with the real language side: the session over the real
 * ConversationResponder (groq-sdk → loopback fake Groq server), its tools, and conversation
 * memory in a real SQLite store. A tool with side effects never runs for a speculation that
 * is not committed; memory holds committed replies and never a discarded speculation.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ConversationResponder } from '../../gateway/brain/conversation-responder.ts';
import { GroqLlm } from '../../gateway/brain/groq-llm.ts';
import { StoreConversationMemory } from '../../gateway/brain/memory.ts';
import { ToolRegistry, type Tool } from '../../gateway/brain/tools.ts';
import { createDateTimeTool, DATETIME_TOOL_NAME } from '../../gateway/brain/tools/datetime.ts';
import { openStore, type Store } from '../../gateway/store/index.ts';
import { sine } from '../audio/signal.ts';
import { startFakeGroqServer, type FakeGroqServer } from '../fakes/fake-groq-server.ts';
import { InMemoryConversationStore } from '../fakes/in-memory-conversation-store.ts';
import { useTempDirs } from '../helpers/temp-dir.ts';
import { createHarness, isType, pcmPackets, silenceSamples, type Device } from './harness.ts';

const tempDir = useTempDirs('preemption-brain');
let fake: FakeGroqServer | undefined;
let store: Store | undefined;
let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup) await c();
  cleanup = [];
  await fake?.close();
  fake = undefined;
  store?.close();
  store = undefined;
});

const PREEMPT = { enabled: true, stableMs: 60 };

function voiced(seconds: number): Int16Array {
  return Int16Array.from(sine(220, 16000, seconds, 0.3), (v) => Math.round(v * 32767));
}

async function until(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function llm(server: FakeGroqServer) {
  return new GroqLlm({ apiKey: 'k', baseUrl: server.baseUrl, policy: { maxRetries: 0, firstTokenTimeoutMs: 10_000, totalTimeoutMs: 15_000 } });
}

/** One push-to-talk turn: `words` words, a pause with the button held until the speculation's LLM request, release. */
async function preemptedTurn(device: Device, turn: number, words: number, beforeRelease: () => Promise<void>): Promise<void> {
  device.listen('start', { mode: 'manual', turn });
  await device.stream(pcmPackets(voiced(words * 0.2)));
  await device.stream(pcmPackets(silenceSamples(0.3)));
  await beforeRelease();
  device.listen('stop', { turn });
  await device.link.waitFor(isType('tts', (m) => m.state === 'stop' && m.turn === turn));
}

type Message = { role: string; content: string | null };
const dialogue = (body: Record<string, any>) => (body.messages as Message[]).filter((m) => m.role === 'user' || m.role === 'assistant').map((m) => `${m.role}: ${m.content}`);

describe('tools with side effects and speculative replies, through the session', () => {
  async function setup() {
    fake = await startFakeGroqServer();
    const switched: string[] = [];
    const switchLight: Tool = {
      name: 'switch_light',
      description: 'Switch the light.',
      parameters: { type: 'object', properties: { state: { type: 'string' } } },
      execute: (args) => (switched.push(String(args.state)), 'the light is now on'),
    };
    const brain = new ConversationResponder({
      llm: llm(fake),
      memory: new StoreConversationMemory(new InMemoryConversationStore()),
      tools: new ToolRegistry([createDateTimeTool({ timeZone: 'UTC' }), switchLight]),
    });
    const h = createHarness({ brain, preemption: PREEMPT, stt: { transcript: 'switch on the light please' } });
    cleanup.push(() => h.hub.closeAll());
    const device = h.connect();
    await device.hello();
    return { h, device, switched, server: fake };
  }

  it('discarded: the speculation reads the clock but stops at the switch, which never runs for it', async () => {
    const { h, device, switched, server } = await setup();
    server.chat.enqueue(
      { type: 'tool_calls', calls: [{ name: DATETIME_TOOL_NAME, arguments: {} }] }, // speculation, round 1: read-only
      { type: 'tool_calls', calls: [{ name: 'switch_light', arguments: { state: 'on' } }] }, // round 2: waits
      { type: 'text', text: 'Which light do you mean?' }, // the final's own reply
    );
    await preemptedTurn(device, 1, 3, async () => {
      const requests = await server.chat.waitForRequests(2); // the clock ran while the button was held
      await requests[1]!.ended;
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(switched).toEqual([]);
    });
    const [record] = await h.recorder.waitForTurns(1);
    expect(record).toMatchObject({ transcript: 'switch on the light please', reply: 'Which light do you mean?', outcome: 'completed' });
    expect(server.chat.requests.map((r) => dialogue(r.body).filter((m) => m.startsWith('user:')).at(-1))).toEqual([
      'user: switch on the',
      'user: switch on the',
      'user: switch on the light please',
    ]);
    expect(switched).toEqual([]); // never, though the speculation asked for it
    expect(h.eventLog.filter((e) => e.name === 'speculation').map((e) => (e.e as { event: string }).event)).toEqual(['started', 'discarded']);
  });

  it('the speculation offers the device’s own tools, and a call of one waits for the commit', async () => {
    const { h, device, switched, server } = await setup();
    h.stt.options.transcript = undefined;
    const volume: string[] = [];
    device.link.capabilities = {
      tools: {
        definitions: () => [{ name: 'self_set_volume', description: 'Set the volume.', parameters: { type: 'object', properties: {} } }],
        run: async (call) => (volume.push(call.name), 'volume set'),
      },
    };
    server.chat.enqueue({ type: 'tool_calls', calls: [{ name: 'self_set_volume', arguments: {} }] }, { type: 'text', text: 'Louder now.' });
    await preemptedTurn(device, 1, 3, async () => {
      const [request] = await server.chat.waitForRequests(1);
      expect(request!.body.tools.map((t: { function: { name: string } }) => t.function.name)).toContain('self_set_volume');
      await request!.ended;
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(volume).toEqual([]);
    });
    const [record] = await h.recorder.waitForTurns(1);
    expect(volume).toEqual(['self_set_volume']);
    expect(switched).toEqual([]);
    expect(record).toMatchObject({ reply: 'Louder now.' });
    expect(record!.timings.preempted).toBe(true);
  });

  it('committed: the switch runs once, after release, and the answer goes on', async () => {
    const { h, device, switched, server } = await setup();
    h.stt.options.transcript = undefined; // the final is what was heard: "turn on the"
    server.chat.enqueue({ type: 'tool_calls', calls: [{ name: 'switch_light', arguments: { state: 'on' } }] }, { type: 'text', text: 'The light is on.' });
    await preemptedTurn(device, 1, 3, async () => {
      const [request] = await server.chat.waitForRequests(1);
      await request!.ended;
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(switched).toEqual([]);
      expect(server.chat.requests).toHaveLength(1);
    });
    const [record] = await h.recorder.waitForTurns(1);
    expect(switched).toEqual(['on']);
    expect(record).toMatchObject({ transcript: 'turn on the', reply: 'The light is on.', outcome: 'completed' });
    expect(record!.timings.preempted).toBe(true);
    expect(server.chat.requests).toHaveLength(2);
  });
});

describe('conversation memory with preemptive generation (SQLite store)', () => {
  it('holds what was committed and spoken; a discarded speculation is in no later prompt and no stored turn', async () => {
    fake = await startFakeGroqServer();
    store = openStore(tempDir());
    store.devices.add('dev-1');
    const brain = new ConversationResponder({ llm: llm(fake), memory: new StoreConversationMemory(store) });
    const h = createHarness({ brain, preemption: PREEMPT, alsoRecordTo: store.turns });
    cleanup.push(() => h.hub.closeAll());
    const device = h.connect('dev-1');
    await device.hello();
    const server = fake;
    server.chat.enqueue(
      { type: 'text', text: 'A speculative answer.' }, // turn 1's speculation, discarded
      { type: 'text', text: 'The weather is fine.' }, // turn 1's reply
      { type: 'text', text: 'Tomorrow it rains.' }, // turn 2's speculation, committed
      { type: 'text', text: 'You are welcome.' }, // turn 3 (typed)
    );

    // Turn 1: the speculation hears "what is the"; the final is longer → discarded.
    h.stt.options.transcript = 'what is the weather like today';
    await preemptedTurn(device, 1, 3, () => server.chat.waitForRequests(1).then(() => {}));
    // Turn 2: the speculation hears all of it → committed.
    h.stt.options.transcript = 'and tomorrow';
    await preemptedTurn(device, 2, 2, () => server.chat.waitForRequests(3).then(() => {}));
    // Turn 3: typed.
    device.control({ type: 'listen', session_id: device.sessionId, state: 'detect', text: 'thanks' });
    await h.recorder.waitForTurns(3);

    const bodies = server.chat.requests.map((r) => r.body);
    expect(bodies).toHaveLength(4);
    expect(dialogue(bodies[0]!)).toEqual(['user: what is the']); // turn 1's speculation
    expect(dialogue(bodies[1]!)).toEqual(['user: what is the weather like today']);
    // Turn 2's speculation already knows turn 1 as it was said and answered.
    expect(dialogue(bodies[2]!)).toEqual(['user: what is the weather like today', 'assistant: The weather is fine.', 'user: and tomorrow']);
    expect(dialogue(bodies[3]!)).toEqual([
      'user: what is the weather like today',
      'assistant: The weather is fine.',
      'user: and tomorrow',
      'assistant: Tomorrow it rains.',
      'user: thanks',
    ]);
    const stored = store.turns.listTurns('dev-1').reverse();
    expect(stored.map((t) => [t.transcript, t.reply, t.timings.preempted])).toEqual([
      ['what is the weather like today', 'The weather is fine.', false],
      ['and tomorrow', 'Tomorrow it rains.', true],
      ['thanks', 'You are welcome.', undefined],
    ]);
    expect(JSON.stringify(stored)).not.toContain('speculative answer');
  });
});
