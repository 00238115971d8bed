/**
 * What the fake Groq server (fake-groq-server.ts) answers and records: the scripts a test
 * queues per endpoint (chat completions, transcriptions), the failures they can inject, and
 * the requests as the server saw them.
 */
import type http from 'node:http';

/** Failure modes shared by both endpoints. */
export type FakeFailure =
  /** Answer with this HTTP status and an OpenAI-style error body. */
  | { type: 'error'; status: number; message?: string; retryAfterSeconds?: number }
  /** Accept the request and never answer (for timeouts); ends when the client gives up. */
  | { type: 'hang' }
  /** Destroy the connection without answering. */
  | { type: 'drop' };

export interface FakeToolCall {
  /** Defaults to `call_<n>`. */
  id?: string;
  name: string;
  /** A JSON string, or an object that is serialized. Streamed in several pieces. */
  arguments: string | Record<string, unknown>;
}

export type FakeChatScript =
  | FakeFailure
  | {
      type: 'text';
      /** The answer; streamed word by word (each token keeps its leading space) unless `tokens` is given. */
      text: string;
      tokens?: string[];
      /** Pause before each content chunk after the first (default 0). */
      tokenDelayMs?: number;
      /** Pause between the response headers and the first content chunk (default 0). */
      firstTokenDelayMs?: number;
      /** Destroy the connection after this many content chunks (a drop mid-stream). */
      dropAfterTokens?: number;
      /** Stop sending after this many content chunks but keep the connection open (total timeout). */
      stallAfterTokens?: number;
      /**
       * Pause after this many content chunks until `release` resolves, then go on: lets a
       * test prove, by order rather than timing, that something happened mid-stream.
       */
      holdAfterTokens?: number;
      release?: Promise<unknown>;
    }
  /** The model calls tools (optionally after some text); finish_reason `tool_calls`. */
  | { type: 'tool_calls'; calls: FakeToolCall[]; text?: string; tokenDelayMs?: number }
  /** A well-formed answer with no content at all. */
  | { type: 'empty' };

export type FakeTranscriptionScript = FakeFailure | { type: 'text'; text: string; delayMs?: number };

// ---- records ------------------------------------------------------------------

/** How the exchange ended, as the server saw it. */
export type FakeRequestEnd =
  | 'completed' // the whole answer was sent
  | 'client_closed' // the client went away before the answer was complete (abort, timeout)
  | 'dropped' // the fake destroyed the connection on purpose
  | 'error'; // an error status was answered

export interface FakeChatRequest {
  path: string;
  headers: http.IncomingHttpHeaders;
  /** The parsed JSON body (messages, model, stream, tools, …). */
  body: Record<string, any>;
  /** The script that answered it. */
  script: FakeChatScript;
  /** Content chunks sent so far. */
  tokensSent: number;
  /** Set once the exchange ended. */
  end?: FakeRequestEnd;
  /** Resolves when the exchange ends. */
  ended: Promise<FakeRequestEnd>;
}

export interface FakeTranscriptionRequest {
  path: string;
  headers: http.IncomingHttpHeaders;
  /** Every non-file multipart field (model, language, response_format, …). */
  fields: Record<string, string>;
  file: { name: string; type: string; bytes: Buffer } | null;
  script: FakeTranscriptionScript;
  end?: FakeRequestEnd;
  ended: Promise<FakeRequestEnd>;
}

export interface FakeEndpoint<Script, Request> {
  enqueue(...scripts: Script[]): void;
  /** The script used when the queue is empty. */
  setDefault(script: Script): void;
  /** Drops the scripts no request has taken yet; returns how many there were. */
  clear(): number;
  readonly requests: Request[];
  /** Resolves once at least `count` requests have arrived. */
  waitForRequests(count: number): Promise<Request[]>;
}

export const DEFAULT_CHAT_SCRIPT: FakeChatScript = { type: 'text', text: 'This is the fake answer.' };
export const DEFAULT_TRANSCRIPTION_SCRIPT: FakeTranscriptionScript = { type: 'text', text: '' };

/** One endpoint's script queue and the requests it has recorded. */
export class Endpoint<Script, Request> implements FakeEndpoint<Script, Request> {
  readonly requests: Request[] = [];
  private readonly queue: Script[] = [];
  private waiters: Array<{ count: number; resolve: (r: Request[]) => void }> = [];

  constructor(private fallback: Script) {}

  enqueue(...scripts: Script[]): void {
    this.queue.push(...scripts);
  }
  setDefault(script: Script): void {
    this.fallback = script;
  }
  clear(): number {
    return this.queue.splice(0).length;
  }
  next(): Script {
    return this.queue.shift() ?? this.fallback;
  }
  record(request: Request): void {
    this.requests.push(request);
    this.waiters = this.waiters.filter((w) => {
      if (this.requests.length < w.count) return true;
      w.resolve(this.requests);
      return false;
    });
  }
  waitForRequests(count: number): Promise<Request[]> {
    if (this.requests.length >= count) return Promise.resolve(this.requests);
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }
}
