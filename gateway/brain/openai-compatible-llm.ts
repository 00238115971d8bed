/**
 * Any OpenAI-compatible chat server (Ollama, llama.cpp's server, vLLM, LM Studio), so
 * the whole stack can run with no cloud at all. Plain fetch and SSE parsing: the wire
 * format is small and stable, and one dependency fewer.
 */
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
import { readSseData } from './sse.ts';
import type { LlmProvider, LlmRequest, LlmStreamEvent } from './types.ts';

/** Ollama's OpenAI-compatible endpoint on this machine. */
export const DEFAULT_OPENAI_BASE_URL = 'http://127.0.0.1:11434/v1';
export const DEFAULT_OPENAI_MODEL = 'llama3.2';
/** Spoken replies are short; this caps a runaway answer. */
const DEFAULT_MAX_TOKENS = 400;

export interface OpenAiCompatibleLlmOptions {
  /** Ends in /v1 (e.g. http://127.0.0.1:11434/v1). */
  baseUrl?: string;
  model?: string;
  /** Most local servers need none. */
  apiKey?: string;
  maxTokens?: number;
  policy?: Partial<LlmCallPolicy>;
  /** For tests; the global fetch otherwise. */
  fetch?: typeof fetch;
}

/** A non-2xx answer. */
export class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly retryAfterMs: number | undefined,
  ) {
    super(message);
    this.name = 'HttpStatusError';
  }
}

export class OpenAiCompatibleLlm implements LlmProvider {
  readonly name = 'openai';
  private readonly baseUrl: string;
  private readonly model: string;
  private readonly apiKey: string | undefined;
  private readonly maxTokens: number;
  private readonly policy: LlmCallPolicy;
  private readonly fetch: typeof fetch;
  private readonly status: ProviderStatus;

  constructor(options: OpenAiCompatibleLlmOptions = {}) {
    this.baseUrl = (options.baseUrl ?? DEFAULT_OPENAI_BASE_URL).replace(/\/+$/, '');
    this.model = options.model ?? DEFAULT_OPENAI_MODEL;
    this.apiKey = options.apiKey;
    this.maxTokens = options.maxTokens ?? DEFAULT_MAX_TOKENS;
    this.policy = { ...DEFAULT_LLM_CALL_POLICY, ...options.policy };
    this.fetch = options.fetch ?? globalThis.fetch;
    this.status = new ProviderStatus(this.name);
  }

  health(): ProviderHealth {
    return this.status.health(`model ${this.model} at ${this.baseUrl}`);
  }

  stream(request: LlmRequest): AsyncIterable<string> {
    return textOnly(this.streamEvents({ ...request, tools: undefined }));
  }

  streamEvents(request: LlmRequest): AsyncIterable<LlmStreamEvent> {
    const tools = request.tools?.length ? toApiTools(request.tools) : undefined;
    const body = JSON.stringify({
      model: this.model,
      messages: toApiMessages(request.messages),
      stream: true,
      max_tokens: this.maxTokens,
      ...(tools ? { tools, tool_choice: request.toolChoice ?? 'auto' } : {}),
    });
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'text/event-stream' };
    if (this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;
    return this.status.track(
      streamWithPolicy(this.name, request, this.policy, {
        open: async (signal) => {
          const response = await this.fetch(`${this.baseUrl}/chat/completions`, { method: 'POST', headers, body, signal });
          if (!response.ok) {
            const text = await response.text().catch(() => '');
            throw new HttpStatusError(response.status, errorMessage(text), retryAfterMs(response.headers));
          }
          if (!response.body) throw new ProviderError(`${this.name}: empty response body`, true, 'unavailable');
          return parseChunks(response.body);
        },
        classify: (err) => classifyOpenAiError(this.name, err),
      }),
    );
  }
}

async function* parseChunks(body: ReadableStream<Uint8Array>): AsyncGenerator<ChatCompletionChunk> {
  for await (const data of readSseData(body)) {
    const chunk = JSON.parse(data) as ChatCompletionChunk & { error?: { message?: string } | string };
    // vLLM and Ollama report a failure inside the stream as an `error` event.
    if (chunk.error) {
      const message = typeof chunk.error === 'string' ? chunk.error : (chunk.error.message ?? 'unknown error');
      throw new ProviderError(`openai: server error in stream: ${message}`, true, 'failed');
    }
    yield chunk;
  }
}

function errorMessage(text: string): string {
  try {
    const json = JSON.parse(text) as { error?: { message?: string } | string; message?: string };
    if (typeof json.error === 'string') return json.error;
    return json.error?.message ?? json.message ?? text.slice(0, 200);
  } catch {
    return text.slice(0, 200);
  }
}

export function classifyOpenAiError(provider: string, err: unknown): ClassifiedError {
  if (err instanceof HttpStatusError) return classifyHttpStatus(provider, err.status, err.message, err.retryAfterMs);
  const message = err instanceof Error ? err.message : String(err);
  // undici: "fetch failed" (refused, DNS, reset before headers); "terminated" (dropped mid-body).
  const cause = err instanceof Error && err.cause instanceof Error ? ` (${err.cause.message})` : '';
  if (err instanceof TypeError && message === 'fetch failed') {
    return { error: new ProviderError(`${provider}: cannot reach the server${cause}`, true, 'unavailable', { cause: err }) };
  }
  return { error: new ProviderError(`${provider}: stream failed (${message}${cause})`, true, 'unavailable', { cause: err }) };
}
