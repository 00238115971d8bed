/**
 * The OpenAI chat-completions wire format, shared by Groq and every OpenAI-compatible
 * server: request messages/tools in, streamed chunks out. Tool calls arrive as deltas
 * (the first names the call, later ones append to its JSON arguments); the
 * accumulator assembles them into complete calls.
 */
import type { ChatMessage, LlmToolCall, LlmToolDefinition } from './types.ts';

/** The part of a `chat.completion.chunk` we read. */
export interface ChatCompletionChunk {
  choices?: Array<{
    delta?: {
      content?: string | null;
      tool_calls?: Array<{
        index?: number;
        id?: string;
        function?: { name?: string; arguments?: string };
      }>;
    };
    finish_reason?: string | null;
  }>;
}

/** Messages as the API wants them: an assistant turn that only calls tools has `content: null`. */
export function toApiMessages(messages: ChatMessage[]): Array<Record<string, unknown>> {
  return messages.map((message) => {
    const out: Record<string, unknown> = { role: message.role, content: message.content };
    if (message.tool_calls?.length) {
      out.tool_calls = message.tool_calls;
      if (message.content === '') out.content = null;
    }
    if (message.tool_call_id !== undefined) out.tool_call_id = message.tool_call_id;
    if (message.name !== undefined) out.name = message.name;
    return out;
  });
}

export function toApiTools(tools: LlmToolDefinition[]): Array<Record<string, unknown>> {
  return tools.map((tool) => ({
    type: 'function',
    function: { name: tool.name, description: tool.description, parameters: tool.parameters },
  }));
}

/** What one chunk contributed. */
export interface ChunkDelta {
  text: string;
  /** True when the chunk carried (part of) a tool call: the model has started answering. */
  toolDelta: boolean;
}

export class ChatChunkAccumulator {
  private readonly calls = new Map<number, LlmToolCall>();

  accept(chunk: ChatCompletionChunk): ChunkDelta {
    let text = '';
    let toolDelta = false;
    for (const choice of chunk.choices ?? []) {
      const delta = choice.delta;
      if (!delta) continue;
      if (typeof delta.content === 'string') text += delta.content;
      for (const [position, part] of (delta.tool_calls ?? []).entries()) {
        toolDelta = true;
        // Some servers omit `index` when they send each call whole; fall back to its position.
        const index = part.index ?? position;
        const call = this.calls.get(index) ?? { id: '', name: '', arguments: '' };
        if (part.id) call.id = part.id;
        if (part.function?.name) call.name += part.function.name;
        if (part.function?.arguments) call.arguments += part.function.arguments;
        this.calls.set(index, call);
      }
    }
    return { text, toolDelta };
  }

  /** The complete tool calls, in index order (ids made up where a server sent none). */
  toolCalls(): LlmToolCall[] {
    return [...this.calls.entries()]
      .sort(([a], [b]) => a - b)
      .map(([index, call]) => ({ ...call, id: call.id || `call_${index}` }))
      .filter((call) => call.name !== '');
  }
}
