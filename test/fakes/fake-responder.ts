/**
 * A Responder for session tests: yields configured sentences with configurable delays,
 * calls onFirstToken, honours the abort signal, can fail after N sentences, and records
 * every request and conversation reset.
 */
import type { ReplyRequest, Responder } from '../../gateway/brain/types.ts';
import { ProviderError } from '../../gateway/providers.ts';

export interface FakeResponderOptions {
  /** The reply, sentence by sentence (or computed from the user's text). */
  sentences?: string[] | ((text: string) => string[]);
  /** Before the first token (ms). */
  firstTokenDelayMs?: number;
  /** Between the first token and each sentence (ms). */
  sentenceDelayMs?: number;
  /** Throws after yielding this many sentences (0: before any). */
  failAfter?: number;
  error?: unknown;
  /** Keeps going after its signal aborted (a misbehaving provider). */
  ignoreSignal?: boolean;
}

export const DEFAULT_FAKE_REPLY = ['Sure thing.', 'The kitchen light is on now.'];

export class FakeResponder implements Responder {
  readonly requests: Array<Omit<ReplyRequest, 'onFirstToken'>> = [];
  readonly resets: string[] = [];
  /** Sentences actually yielded, per request. */
  readonly yielded: string[][] = [];

  constructor(public options: FakeResponderOptions = {}) {}

  async *reply(request: ReplyRequest): AsyncIterable<string> {
    const record = {
      deviceId: request.deviceId,
      text: request.text,
      language: request.language,
      signal: request.signal,
      ...(request.tools ? { tools: request.tools } : {}),
    };
    this.requests.push(record);
    const out: string[] = [];
    this.yielded.push(out);
    const o = this.options;
    const sentences = typeof o.sentences === 'function' ? o.sentences(request.text) : (o.sentences ?? DEFAULT_FAKE_REPLY);
    const stopped = () => !o.ignoreSignal && request.signal.aborted;
    await sleep(o.firstTokenDelayMs ?? 0, request.signal, o.ignoreSignal);
    if (stopped()) throw new ProviderError('reply aborted', false, 'aborted');
    if (o.failAfter === 0) throw o.error ?? new ProviderError('fake llm is down', true, 'unavailable');
    request.onFirstToken?.();
    for (const [i, sentence] of sentences.entries()) {
      await sleep(o.sentenceDelayMs ?? 0, request.signal, o.ignoreSignal);
      if (stopped()) throw new ProviderError('reply aborted', false, 'aborted');
      out.push(sentence);
      yield sentence;
      if (o.failAfter === i + 1) throw o.error ?? new ProviderError('fake llm failed mid-answer', true, 'failed');
    }
  }

  resetConversation(deviceId: string): void {
    this.resets.push(deviceId);
  }
}

function sleep(ms: number, signal: AbortSignal, ignoreSignal = false): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    if (!ignoreSignal) signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}
