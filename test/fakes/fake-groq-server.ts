/**
 * A loopback fake of Groq's HTTP API (and of any OpenAI-compatible server), driven in
 * tests by the REAL client libraries: groq-sdk with `baseURL: fake.baseUrl`, or plain
 * fetch / the openai package with `fake.baseUrl` of the OpenAI-compatible variant.
 *
 *   const fake = await startFakeGroqServer();            // POST /openai/v1/...
 *   const local = await startFakeOpenAiCompatibleServer(); // POST /v1/...
 *   fake.chat.enqueue({ type: 'text', text: 'Hello there. How are you?', tokenDelayMs: 30 });
 *   fake.transcriptions.enqueue({ type: 'text', text: 'what time is it' });
 *   ... new Groq({ apiKey: 'test', baseURL: fake.baseUrl, maxRetries: 0 }) ...
 *   fake.chat.requests[0].body.messages; await fake.chat.requests[0].ended; // 'completed' | 'client_closed' | ...
 *   // mid-stream proofs by order, not timing: the fake holds after 3 tokens until released
 *   let release!: () => void; fake.chat.enqueue({ type: 'text', text, holdAfterTokens: 3, release: new Promise((r) => (release = r)) });
 *   await fake.close();
 *
 * Each request takes the next script from its queue; when the queue is empty the
 * default script (settable) answers. Every request is recorded with its body.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  DEFAULT_CHAT_SCRIPT,
  DEFAULT_TRANSCRIPTION_SCRIPT,
  Endpoint,
  type FakeChatRequest,
  type FakeChatScript,
  type FakeEndpoint,
  type FakeFailure,
  type FakeRequestEnd,
  type FakeToolCall,
  type FakeTranscriptionRequest,
  type FakeTranscriptionScript,
} from './fake-groq-scripts.ts';

export type { FakeChatRequest, FakeChatScript, FakeEndpoint, FakeFailure, FakeRequestEnd, FakeToolCall, FakeTranscriptionRequest, FakeTranscriptionScript };

export interface FakeGroqServer {
  /** Give this to the client: groq-sdk's `baseURL`, or an OpenAI client's base URL (ends in /v1). */
  readonly baseUrl: string;
  readonly port: number;
  /** `/openai/v1` (Groq) or `/v1` (OpenAI-compatible). */
  readonly pathPrefix: string;
  readonly chat: FakeEndpoint<FakeChatScript, FakeChatRequest>;
  readonly transcriptions: FakeEndpoint<FakeTranscriptionScript, FakeTranscriptionRequest>;
  /** Model ids served by GET {prefix}/models. */
  models: string[];
  /** When set, requests without `Authorization: Bearer <apiKey>` get 401. */
  apiKey?: string;
  close(): Promise<void>;
}

export interface FakeServerOptions {
  apiKey?: string;
  models?: string[];
}

// ---- implementation ---------------------------------------------------------------

function splitIntoTokens(text: string): string[] {
  return text.match(/\s*\S+/g) ?? [];
}

/** Splits a string into up to `parts` pieces, so tool-call arguments arrive as several deltas. */
function splitIntoPieces(text: string, parts: number): string[] {
  if (text.length === 0) return [''];
  const size = Math.max(1, Math.ceil(text.length / parts));
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

function delay(ms: number, res: http.ServerResponse): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      res.off('close', done);
      resolve();
    }
    res.once('close', done);
  });
}

async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Tracks how an exchange ends; `client_closed` when the socket closes before we finished. */
function trackEnd(res: http.ServerResponse, record: { end?: FakeRequestEnd }): {
  ended: Promise<FakeRequestEnd>;
  settle: (end: FakeRequestEnd) => void;
} {
  let settle!: (end: FakeRequestEnd) => void;
  const ended = new Promise<FakeRequestEnd>((resolve) => {
    settle = (end) => {
      if (record.end) return;
      record.end = end;
      resolve(end);
    };
  });
  res.once('close', () => settle(res.writableFinished ? 'completed' : 'client_closed'));
  return { ended, settle };
}

function writeError(res: http.ServerResponse, failure: { status: number; message?: string; retryAfterSeconds?: number }): void {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (failure.retryAfterSeconds !== undefined) headers['retry-after'] = String(failure.retryAfterSeconds);
  const type = failure.status === 401 ? 'invalid_request_error' : failure.status === 429 ? 'rate_limit_exceeded' : 'server_error';
  res.writeHead(failure.status, headers);
  res.end(JSON.stringify({ error: { message: failure.message ?? `fake error ${failure.status}`, type } }));
}

/** Applies a failure script; returns true when it handled the response. */
function applyFailure(
  script: { type: string },
  req: http.IncomingMessage,
  res: http.ServerResponse,
  settle: (end: FakeRequestEnd) => void,
): boolean {
  if (script.type === 'error') {
    settle('error');
    writeError(res, script as Extract<FakeFailure, { type: 'error' }>);
    return true;
  }
  if (script.type === 'hang') return true; // nothing is ever written; 'close' settles it
  if (script.type === 'drop') {
    settle('dropped');
    req.socket.destroy();
    return true;
  }
  return false;
}

class ChatStreamWriter {
  private readonly id = `chatcmpl-fake-${Math.random().toString(36).slice(2, 10)}`;
  private readonly created = Math.floor(Date.now() / 1000);
  private lastWrite: Promise<void> = Promise.resolve();
  constructor(
    private readonly res: http.ServerResponse,
    private readonly model: string,
  ) {}
  open(): void {
    this.res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    // Headers go out at once so a first-token timeout is measured from here, as with Groq.
    this.res.flushHeaders();
  }
  chunk(delta: Record<string, unknown>, finishReason: string | null = null, extra: Record<string, unknown> = {}): void {
    const data = {
      id: this.id,
      object: 'chat.completion.chunk',
      created: this.created,
      model: this.model,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
      ...extra,
    };
    this.lastWrite = new Promise((resolve) => this.res.write(`data: ${JSON.stringify(data)}\n\n`, () => resolve()));
  }
  /** Resolves once everything written so far reached the socket (so a drop cuts after it). */
  flushed(): Promise<void> {
    return this.lastWrite;
  }
  done(): void {
    this.res.end('data: [DONE]\n\n');
  }
}

function toolCallsOf(calls: FakeToolCall[], counter: { n: number }) {
  return calls.map((call) => ({
    id: call.id ?? `call_${++counter.n}`,
    type: 'function' as const,
    function: {
      name: call.name,
      arguments: typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments),
    },
  }));
}

async function answerChat(
  script: FakeChatScript,
  body: Record<string, any>,
  record: FakeChatRequest,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  settle: (end: FakeRequestEnd) => void,
  counter: { n: number },
): Promise<void> {
  if (applyFailure(script, req, res, settle)) return;
  const model = typeof body.model === 'string' ? body.model : 'fake-model';
  const text = script.type === 'text' ? script.text : script.type === 'tool_calls' ? (script.text ?? '') : '';
  const tokens = script.type === 'text' && script.tokens ? script.tokens : splitIntoTokens(text);
  const calls = script.type === 'tool_calls' ? toolCallsOf(script.calls, counter) : [];
  const finishReason = calls.length > 0 ? 'tool_calls' : 'stop';

  if (body.stream !== true) {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        id: `chatcmpl-fake-${counter.n}`,
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model,
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: calls.length > 0 && !text ? null : tokens.join(''), ...(calls.length ? { tool_calls: calls } : {}) },
            logprobs: null,
            finish_reason: finishReason,
          },
        ],
        usage: { prompt_tokens: 10, completion_tokens: tokens.length, total_tokens: 10 + tokens.length },
      }),
    );
    record.tokensSent = tokens.length;
    return;
  }

  const writer = new ChatStreamWriter(res, model);
  writer.open();
  writer.chunk({ role: 'assistant', content: '' });
  const tokenDelay = script.type === 'text' || script.type === 'tool_calls' ? (script.tokenDelayMs ?? 0) : 0;
  const firstDelay = script.type === 'text' ? (script.firstTokenDelayMs ?? 0) : 0;
  for (let i = 0; i < tokens.length; i++) {
    await delay(i === 0 ? firstDelay : tokenDelay, res);
    if (res.destroyed) return;
    if (script.type === 'text' && script.dropAfterTokens === i) {
      await writer.flushed();
      settle('dropped');
      req.socket.destroy();
      return;
    }
    if (script.type === 'text' && script.stallAfterTokens === i) return; // keep the connection open, send nothing more
    if (script.type === 'text' && script.holdAfterTokens === i && script.release) {
      await Promise.race([script.release, new Promise((resolve) => res.once('close', resolve))]);
      if (res.destroyed) return;
    }
    writer.chunk({ content: tokens[i] });
    record.tokensSent++;
  }
  for (const [index, call] of calls.entries()) {
    await delay(tokenDelay, res);
    if (res.destroyed) return;
    // OpenAI's streaming shape: the first delta names the call, later ones append arguments.
    writer.chunk({ tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.function.name, arguments: '' } }] });
    for (const piece of splitIntoPieces(call.function.arguments, 3)) {
      writer.chunk({ tool_calls: [{ index, function: { arguments: piece } }] });
    }
  }
  if (res.destroyed) return;
  if (script.type === 'text' && script.dropAfterTokens !== undefined && script.dropAfterTokens >= tokens.length) {
    await writer.flushed();
    settle('dropped');
    req.socket.destroy();
    return;
  }
  writer.chunk({}, finishReason, { x_groq: { id: 'req_fake', usage: { completion_tokens: tokens.length } } });
  writer.done();
}

async function answerTranscription(
  script: FakeTranscriptionScript,
  fields: Record<string, string>,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  settle: (end: FakeRequestEnd) => void,
): Promise<void> {
  if (applyFailure(script, req, res, settle)) return;
  if (script.type !== 'text') return;
  await delay(script.delayMs ?? 0, res);
  if (res.destroyed) return;
  const format = fields.response_format ?? 'json';
  if (format === 'text') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(script.text);
    return;
  }
  const json =
    format === 'verbose_json'
      ? { task: 'transcribe', language: fields.language ?? 'en', duration: 0, text: script.text, segments: [], x_groq: { id: 'req_fake' } }
      : { text: script.text, x_groq: { id: 'req_fake' } };
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(json));
}

async function parseMultipart(raw: Buffer, contentType: string): Promise<Pick<FakeTranscriptionRequest, 'fields' | 'file'>> {
  const form = await new Response(raw, { headers: { 'content-type': contentType } }).formData();
  const fields: Record<string, string> = {};
  let file: FakeTranscriptionRequest['file'] = null;
  for (const [key, value] of form.entries()) {
    if (typeof value === 'string') fields[key] = value;
    else if (key === 'file') file = { name: value.name, type: value.type, bytes: Buffer.from(await value.arrayBuffer()) };
  }
  return { fields, file };
}

async function startFakeServer(pathPrefix: string, options: FakeServerOptions): Promise<FakeGroqServer> {
  const chat = new Endpoint<FakeChatScript, FakeChatRequest>(DEFAULT_CHAT_SCRIPT);
  const transcriptions = new Endpoint<FakeTranscriptionScript, FakeTranscriptionRequest>(DEFAULT_TRANSCRIPTION_SCRIPT);
  const counter = { n: 0 };

  const fake: FakeGroqServer = {
    baseUrl: '',
    port: 0,
    pathPrefix,
    chat,
    transcriptions,
    models: options.models ?? ['llama-3.1-8b-instant', 'whisper-large-v3-turbo'],
    apiKey: options.apiKey,
    close: async () => {},
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0]!;
    const raw = await readBody(req);
    if (fake.apiKey !== undefined && req.headers.authorization !== `Bearer ${fake.apiKey}`) {
      writeError(res, { status: 401, message: 'Invalid API Key' });
      return;
    }
    if (req.method === 'GET' && path === `${pathPrefix}/models`) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ object: 'list', data: fake.models.map((id) => ({ id, object: 'model', owned_by: 'fake' })) }));
      return;
    }
    if (req.method === 'POST' && path === `${pathPrefix}/chat/completions`) {
      let body: Record<string, any>;
      try {
        body = JSON.parse(raw.toString('utf8')) as Record<string, any>;
      } catch {
        writeError(res, { status: 400, message: 'body is not JSON' });
        return;
      }
      const script = chat.next();
      const record = { path, headers: req.headers, body, script, tokensSent: 0 } as FakeChatRequest;
      const { ended, settle } = trackEnd(res, record);
      record.ended = ended;
      chat.record(record);
      await answerChat(script, body, record, req, res, settle, counter);
      return;
    }
    if (req.method === 'POST' && path === `${pathPrefix}/audio/transcriptions`) {
      let parsed: Pick<FakeTranscriptionRequest, 'fields' | 'file'>;
      try {
        parsed = await parseMultipart(raw, req.headers['content-type'] ?? '');
      } catch {
        writeError(res, { status: 400, message: 'body is not multipart/form-data' });
        return;
      }
      const script = transcriptions.next();
      const record = { path, headers: req.headers, ...parsed, script } as FakeTranscriptionRequest;
      const { ended, settle } = trackEnd(res, record);
      record.ended = ended;
      transcriptions.record(record);
      await answerTranscription(script, parsed.fields, req, res, settle);
      return;
    }
    writeError(res, { status: 404, message: `unknown route ${req.method} ${path}` });
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) writeError(res, { status: 500, message: `fake server failed: ${String(err)}` });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  Object.assign(fake, {
    port,
    baseUrl: pathPrefix === '/openai/v1' ? `http://127.0.0.1:${port}` : `http://127.0.0.1:${port}${pathPrefix}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Hanging and streaming exchanges would keep close() waiting forever.
        server.closeAllConnections();
      }),
  });
  return fake;
}

/** Groq's API: groq-sdk appends `/openai/v1/...` to `baseUrl`. */
export function startFakeGroqServer(options: FakeServerOptions = {}): Promise<FakeGroqServer> {
  return startFakeServer('/openai/v1', options);
}

/** An OpenAI-compatible server (Ollama, llama.cpp, vLLM): `baseUrl` ends in `/v1`. */
export function startFakeOpenAiCompatibleServer(options: FakeServerOptions = {}): Promise<FakeGroqServer> {
  return startFakeServer('/v1', options);
}
