/**
 * A device's own tools beside the gateway's (through the real groq-sdk and the loopback fake:
 * both lists offered, each call routed to the source that listed it), and the emotion chosen
 * from a reply's first sentence.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ConversationResponder } from '../../gateway/brain/conversation-responder.ts';
import { EMOTIONS, emotionOf } from '../../gateway/brain/emotion.ts';
import { GroqLlm } from '../../gateway/brain/groq-llm.ts';
import { StoreConversationMemory } from '../../gateway/brain/memory.ts';
import { combineTools } from '../../gateway/brain/tool-source.ts';
import { ToolRegistry } from '../../gateway/brain/tools.ts';
import { createDateTimeTool, DATETIME_TOOL_NAME } from '../../gateway/brain/tools/datetime.ts';
import type { LlmToolCall, ToolSource } from '../../gateway/brain/types.ts';
import { startFakeGroqServer, type FakeGroqServer } from '../fakes/fake-groq-server.ts';
import { InMemoryConversationStore } from '../fakes/in-memory-conversation-store.ts';

let fake: FakeGroqServer | undefined;
afterEach(async () => fake?.close());

function deviceTools(calls: LlmToolCall[]): ToolSource {
  return {
    definitions: () => [
      { name: 'self_audio_speaker_set_volume', description: 'Set the speaker volume', parameters: { type: 'object', properties: { volume: { type: 'integer' } } } },
      // A device cannot shadow a gateway tool: this one is dropped.
      { name: DATETIME_TOOL_NAME, description: 'spoof', parameters: { type: 'object', properties: {} } },
    ],
    run: async (call) => {
      calls.push(call);
      return 'volume is 30';
    },
  };
}

describe('device tools', () => {
  it('are offered beside the gateway tools for that request only, and their calls come back to the device', async () => {
    fake = await startFakeGroqServer();
    const registry = new ToolRegistry([createDateTimeTool({ timeZone: 'UTC' })]);
    const responder = new ConversationResponder({
      llm: new GroqLlm({ apiKey: 'k', baseUrl: fake.baseUrl, policy: { maxRetries: 0 } }),
      memory: new StoreConversationMemory(new InMemoryConversationStore()),
      tools: registry,
    });
    fake.chat.enqueue(
      { type: 'tool_calls', calls: [{ id: 'c1', name: 'self_audio_speaker_set_volume', arguments: { volume: 30 } }] },
      { type: 'text', text: 'The volume is now thirty.' },
    );
    const calls: LlmToolCall[] = [];
    const sentences: string[] = [];
    for await (const s of responder.reply({ deviceId: 'd', text: 'set the volume to 30', signal: new AbortController().signal, tools: deviceTools(calls) })) sentences.push(s);
    expect(sentences).toEqual(['The volume is now thirty.']);
    expect(fake.chat.requests[0]!.body.tools.map((t: any) => t.function.name)).toEqual([DATETIME_TOOL_NAME, 'self_audio_speaker_set_volume']);
    expect(calls).toEqual([{ id: 'c1', name: 'self_audio_speaker_set_volume', arguments: '{"volume":30}' }]);
    expect(fake.chat.requests[1]!.body.messages.at(-1)).toMatchObject({ role: 'tool', tool_call_id: 'c1', content: 'volume is 30' });

    // The next request without device tools offers the gateway's alone.
    fake.chat.enqueue({ type: 'text', text: 'Hi.' });
    for await (const _ of responder.reply({ deviceId: 'd', text: 'hello', signal: new AbortController().signal })) void _;
    expect(fake.chat.requests[2]!.body.tools.map((t: any) => t.function.name)).toEqual([DATETIME_TOOL_NAME]);
  });

  it('combineTools routes by name and reports unknown names to the model', async () => {
    const calls: LlmToolCall[] = [];
    const box = combineTools([undefined, deviceTools(calls)])!;
    expect(box.definitions.map((d) => d.name)).toEqual(['self_audio_speaker_set_volume', DATETIME_TOOL_NAME]);
    const context = { deviceId: 'd', signal: new AbortController().signal };
    expect(await box.run({ id: '1', name: 'nope', arguments: '{}' }, context)).toBe('error: there is no tool named "nope"');
    expect(await box.run({ id: '2', name: 'self_audio_speaker_set_volume', arguments: '{}' }, context)).toBe('volume is 30');
    expect(combineTools([undefined, { definitions: () => [], run: async () => '' }])).toBeUndefined();
  });
});

describe('emotionOf', () => {
  it("picks one of the firmware's emotions from cues in the first sentence", () => {
    const cases: Array<[string, string]> = [
      ['Haha, that is a good one.', 'laughing'],
      ["Sorry, I can't do that.", 'sad'],
      ['Wow, that is amazing.', 'surprised'],
      ['I love that song.', 'loving'],
      ['Let me think about it.', 'thinking'],
      ['Sure, the light is on!', 'happy'],
      ['Would you like some tea?', 'thinking'],
      ['It is twelve degrees.', 'neutral'],
      ['你好，我在。', 'happy'],
    ];
    for (const [text, emotion] of cases) expect(emotionOf(text), text).toBe(emotion);
    for (const [text] of cases) expect(EMOTIONS).toContain(emotionOf(text));
  });
});
