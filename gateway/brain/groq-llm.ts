/**
 * Groq's chat completions through groq-sdk, streamed. The SDK's own retries are off
 * (maxRetries: 0): retrying is the call policy's job, which knows about first tokens.
 */
import Groq from 'groq-sdk';
import type { ChatCompletionCreateParamsStreaming } from 'groq-sdk/resources/chat/completions';
import { ProviderError, type ProviderHealth } from '../providers.ts';
import { toApiMessages, toApiTools, type ChatCompletionChunk } from './chat-chunks.ts';
import {
  classifyHttpStatus,
  DEFAULT_LLM_CALL_POLICY,
  retryAfterMs,
  streamWithPolicy,
  textOnly,
  type ClassifiedError,
  type LlmCallPolicy,
} from './llm-call-policy.ts';
import { ProviderStatus } from './provider-status.ts';
import type { LlmProvider, LlmRequest, LlmStreamEvent } from './types.ts';

export const DEFAULT_GROQ_LLM_MODEL = 'llama-3.1-8b-instant';
/** Spoken replies are short; this caps a runaway answer. */
export const DEFAULT_MAX_TOKENS = 400;

export interface GroqLlmOptions {
  apiKey?: string;
  /** Unset: https://api.groq.com. */
  baseUrl?: string;
  model?: string;
  maxTokens?: number;
  policy?: Partial<LlmCallPolicy>;
}

export function classifyGroqError(err: unknown): ClassifiedError {
  if (err instanceof Groq.APIConnectionTimeoutError) {
    return { error: new ProviderError('groq: request timed out', true, 'timeout', { cause: err }) };
  }
  if (err instanceof Groq.APIConnectionError) {
    return { error: new ProviderError(`groq: cannot reach the server (${err.message})`, true, 'unavailable', { cause: err }) };
  }
  if (err instanceof Groq.APIError && typeof err.status === 'number') {
    const message = (err.error as { message?: string } | undefined)?.message ?? err.message;
    const classified = classifyHttpStatus('groq', err.status, message, retryAfterMs(err.headers));
    return { ...classified, error: new ProviderError(classified.error.message, classified.error.retryable, classified.error.reason, { cause: err }) };
  }
  // An error event inside the stream, a dropped connection mid-stream, a garbled chunk.
  const message = err instanceof Error ? err.message : String(err);
  return { error: new ProviderError(`groq: stream failed (${message})`, true, 'unavailable', { cause: err }) };
}

export class GroqLlm implements LlmProvider {
  readonly name = 'groq';
  private readonly client: Groq | undefined;
  private readonly model: string;
  private readonly maxTokens: number;
  private readonly policy: LlmCallPolicy;
  private readonly status: ProviderStatus;

  constructor(options: GroqLlmOptions) {
    this.model = options.model ?? DEFAULT_GROQ_LLM_MODEL;
    this.maxTokens = options.maxTokens ?? DEFAULT_MAX_TOKENS;
    this.policy = { ...DEFAULT_LLM_CALL_POLICY, ...options.policy };
    this.status = new ProviderStatus(this.name, options.apiKey ? undefined : 'GROQ_API_KEY is not set');
    // baseURL and apiKey are always passed: the SDK would otherwise read process.env itself.
    this.client = options.apiKey
      ? new Groq({
          apiKey: options.apiKey,
          baseURL: options.baseUrl ?? 'https://api.groq.com',
          maxRetries: 0,
          timeout: this.policy.totalTimeoutMs,
          logLevel: 'off',
        })
      : undefined;
  }

  health(): ProviderHealth {
    return this.status.health(`model ${this.model}`);
  }

  stream(request: LlmRequest): AsyncIterable<string> {
    return textOnly(this.streamEvents({ ...request, tools: undefined }));
  }

  streamEvents(request: LlmRequest): AsyncIterable<LlmStreamEvent> {
    const client = this.client;
    if (!client) return this.status.track(failing(new ProviderError('groq: GROQ_API_KEY is not set', false, 'unavailable')));
    const tools = request.tools?.length ? toApiTools(request.tools) : undefined;
    const body = {
      model: this.model,
      messages: toApiMessages(request.messages),
      stream: true as const,
      max_tokens: this.maxTokens,
      ...(tools ? { tools, tool_choice: request.toolChoice ?? 'auto' } : {}),
    };
    return this.status.track(
      streamWithPolicy(this.name, request, this.policy, {
        open: async (signal) =>
          // The SDK's types want its own message union; ours is the same wire shape.
          (await client.chat.completions.create(body as unknown as ChatCompletionCreateParamsStreaming, {
            signal,
            maxRetries: 0,
          })) as AsyncIterable<ChatCompletionChunk>,
        classify: classifyGroqError,
      }),
    );
  }
}

async function* failing(error: ProviderError): AsyncGenerator<never> {
  throw error;
}
