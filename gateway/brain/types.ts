/**
 * The language side as the session sees it. An LlmProvider streams text for a list of
 * chat messages; a Responder turns one user utterance into the sentences of a spoken
 * reply (prompt, memory and sentence splitting live behind it).
 */
import type { ProviderHealth } from '../providers.ts';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string;
  /** OpenAI-style tool calling fields, used by providers that support tools. */
  tool_call_id?: string;
  tool_calls?: Array<{ id: string; type: 'function'; function: { name: string; arguments: string } }>;
  name?: string;
}

/** An OpenAI-style function tool as the model sees it. */
export interface LlmToolDefinition {
  name: string;
  description: string;
  /** JSON schema of the arguments object. */
  parameters: Record<string, unknown>;
}

/** One complete tool call the model asked for (arguments: a JSON string, as the model wrote it). */
export interface LlmToolCall {
  id: string;
  name: string;
  arguments: string;
}

export interface LlmRequest {
  messages: ChatMessage[];
  signal: AbortSignal;
  /** Tools the model may call; used by `streamEvents` (plain `stream` ignores tool calls). */
  tools?: LlmToolDefinition[];
  /** 'none': the model must answer in text although `tools` are listed (last tool round). Default 'auto'. */
  toolChoice?: 'auto' | 'none';
}

/** What `streamEvents` yields: text deltas as they arrive; tool calls once complete (end of the answer). */
export type LlmStreamEvent = { type: 'text'; text: string } | { type: 'tool_calls'; calls: LlmToolCall[] };

export interface LlmProvider {
  readonly name: string;
  health(): ProviderHealth;
  /** Streams text deltas of the answer. Throws ProviderError (retryable or not) on failure. */
  stream(request: LlmRequest): AsyncIterable<string>;
  /** Like `stream`, with tool calls. Providers that cannot call tools leave it out. */
  streamEvents?(request: LlmRequest): AsyncIterable<LlmStreamEvent>;
}

/**
 * Tools offered for one reply only, beside the gateway's own: a device's tools (stock xiaozhi
 * firmware's MCP tools) reach the model per turn, since each device has its own.
 */
export interface ToolSource {
  /** Names must be valid for the LLM API (`^[a-zA-Z0-9_-]{1,64}$`). */
  definitions(): LlmToolDefinition[];
  /** Runs a call of a tool it listed; returns what the model reads. Throws only when `signal` aborted. */
  run(call: LlmToolCall, context: { deviceId: string; signal: AbortSignal }): Promise<string>;
  /**
   * Whether running the named tool changes anything (a speculative reply waits for its commit
   * before running such a tool). Absent: every tool it lists has side effects (a device's MCP
   * tools act on the device).
   */
  hasSideEffects?(name: string): boolean;
}

export interface ReplyRequest {
  deviceId: string;
  /** What the user said (final transcript) or typed. */
  text: string;
  language?: string;
  signal: AbortSignal;
  /** Called once, when the first token of the answer arrives (turn timings). */
  onFirstToken?: () => void;
  /** The device's own tools, offered beside the gateway's (a responder without tools ignores them). */
  tools?: ToolSource;
  /**
   * Set on a speculative request (preemptive generation, before the user has finished):
   * resolves once the reply is committed, rejects once it is discarded. A responder awaits
   * it before anything with side effects (a tool that changes something, handing the text to
   * another system); until then it may only think, read and write.
   */
  beforeSideEffect?: () => Promise<void>;
}

export interface Responder {
  /** Yields the reply sentence by sentence, as soon as each is complete. */
  reply(request: ReplyRequest): AsyncIterable<string>;
  /** Forget the device's conversation (protocol `reset`). */
  resetConversation(deviceId: string): void;
}
