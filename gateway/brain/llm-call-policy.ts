/**
 * How one LLM request is run, the same for every provider: cancellable by the turn's
 * signal, a first-token timeout and a total timeout, and retries only on retryable
 * errors and only before the first token (after it, the device is already speaking).
 */
import { ProviderError } from '../providers.ts';
import { ChatChunkAccumulator, type ChatCompletionChunk } from './chat-chunks.ts';
import type { LlmRequest, LlmStreamEvent } from './types.ts';

/** A cloud LLM silent this long is as good as down for someone waiting for an answer. */
export const DEFAULT_FIRST_TOKEN_TIMEOUT_MS = 8_000;
/** A spoken reply that takes longer than this to write is cut off. */
export const DEFAULT_TOTAL_TIMEOUT_MS = 30_000;
/** One retry rides out a blip; more would keep the user waiting in silence. */
export const DEFAULT_MAX_RETRIES = 1;
/** The first retry waits this long, each next one twice as long (unless the server says retry-after). */
export const RETRY_BASE_DELAY_MS = 250;
/** A server asking us to wait longer than this is not worth waiting for (the next provider may serve). */
export const MAX_RETRY_DELAY_MS = 2_000;

export interface LlmCallPolicy {
  firstTokenTimeoutMs: number;
  totalTimeoutMs: number;
  maxRetries: number;
}

export const DEFAULT_LLM_CALL_POLICY: LlmCallPolicy = {
  firstTokenTimeoutMs: DEFAULT_FIRST_TOKEN_TIMEOUT_MS,
  totalTimeoutMs: DEFAULT_TOTAL_TIMEOUT_MS,
  maxRetries: DEFAULT_MAX_RETRIES,
};

export interface ClassifiedError {
  error: ProviderError;
  /** The server's retry-after, when it sent one. */
  retryAfterMs?: number;
}

/** One provider's way of opening a streamed chat completion and naming its failures. */
export interface ChunkSource {
  /** Sends one attempt; aborting `signal` must close its connection. */
  open(signal: AbortSignal): Promise<AsyncIterable<ChatCompletionChunk>>;
  classify(err: unknown): ClassifiedError;
}

/** Reads `retry-after-ms` or `retry-after` (seconds or an HTTP date). */
export function retryAfterMs(headers: { get(name: string): string | null } | undefined): number | undefined {
  const ms = Number.parseFloat(headers?.get('retry-after-ms') ?? '');
  if (Number.isFinite(ms)) return Math.max(0, ms);
  const value = headers?.get('retry-after');
  if (!value) return undefined;
  const seconds = Number.parseFloat(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : undefined;
}

/** An HTTP error status as a ProviderError: 429, 408 and 5xx are worth retrying, the rest not. */
export function classifyHttpStatus(provider: string, status: number, message: string, retryAfter?: number): ClassifiedError {
  const detail = `${provider}: ${status} ${message}`.trim();
  if (status === 401 || status === 403) {
    return { error: new ProviderError(`${provider} refused the credentials (${status}): ${message}`, false, 'unavailable') };
  }
  if (status === 404) return { error: new ProviderError(detail, false, 'missing_model') };
  if (status === 408 || status === 409 || status === 425 || status === 429 || status >= 500) {
    return { error: new ProviderError(detail, true, 'unavailable'), retryAfterMs: retryAfter };
  }
  return { error: new ProviderError(detail, false, 'failed') };
}

function abortedError(provider: string): ProviderError {
  return new ProviderError(`${provider}: request aborted`, false, 'aborted');
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * Runs `source` under `policy`: yields text deltas as they arrive and, at the end, the
 * complete tool calls (if any). Throws ProviderError; `reason: 'aborted'` when the
 * request's signal ended it.
 */
export async function* streamWithPolicy(
  provider: string,
  request: LlmRequest,
  policy: LlmCallPolicy,
  source: ChunkSource,
): AsyncGenerator<LlmStreamEvent> {
  const startedAt = Date.now();
  const total = new AbortController();
  const totalTimer = setTimeout(
    () => total.abort(new ProviderError(`${provider}: no complete answer within ${policy.totalTimeoutMs} ms`, true, 'timeout')),
    policy.totalTimeoutMs,
  );
  // Which signal stopped us, most specific first: the user's abort wins over any timeout.
  const stopReason = (firstToken: AbortSignal): ProviderError | undefined => {
    if (request.signal.aborted) return abortedError(provider);
    if (total.signal.aborted) return total.signal.reason as ProviderError;
    if (firstToken.aborted) return firstToken.reason as ProviderError;
    return undefined;
  };
  try {
    for (let attempt = 0; ; attempt++) {
      if (request.signal.aborted) throw abortedError(provider);
      const firstToken = new AbortController();
      const firstTokenTimer = setTimeout(
        () => firstToken.abort(new ProviderError(`${provider}: no answer within ${policy.firstTokenTimeoutMs} ms`, true, 'timeout')),
        policy.firstTokenTimeoutMs,
      );
      const attemptEnd = new AbortController();
      const signal = AbortSignal.any([request.signal, total.signal, firstToken.signal, attemptEnd.signal]);
      let answered = false;
      try {
        const chunks = await source.open(signal);
        const accumulator = new ChatChunkAccumulator();
        for await (const chunk of chunks) {
          const { text, toolDelta } = accumulator.accept(chunk);
          if (!answered && (text !== '' || toolDelta)) {
            answered = true;
            clearTimeout(firstTokenTimer);
          }
          if (text !== '') yield { type: 'text', text };
        }
        // Some clients (groq-sdk) end a stream quietly when its signal aborts: say why it ended.
        const stopped = stopReason(firstToken.signal);
        if (stopped) throw stopped;
        const calls = accumulator.toolCalls();
        if (calls.length > 0) yield { type: 'tool_calls', calls };
        return;
      } catch (err) {
        const stopped = stopReason(firstToken.signal);
        if (stopped) throw stopped;
        const failure = err instanceof ProviderError ? { error: err } : source.classify(err);
        const wait = failure.retryAfterMs ?? RETRY_BASE_DELAY_MS * 2 ** attempt;
        const retry =
          !answered &&
          failure.error.retryable &&
          failure.error.reason !== 'timeout' &&
          attempt < policy.maxRetries &&
          wait <= MAX_RETRY_DELAY_MS &&
          Date.now() - startedAt + wait < policy.totalTimeoutMs;
        if (!retry) throw failure.error;
        await sleep(wait, AbortSignal.any([request.signal, total.signal]));
      } finally {
        clearTimeout(firstTokenTimer);
        // Closes the connection when the consumer stopped early (return()) or we failed.
        attemptEnd.abort();
      }
    }
  } finally {
    clearTimeout(totalTimer);
  }
}

/** The text deltas only (LlmProvider.stream). */
export async function* textOnly(events: AsyncIterable<LlmStreamEvent>): AsyncGenerator<string> {
  for await (const event of events) if (event.type === 'text') yield event.text;
}
