/**
 * Home Assistant's conversation REST API on loopback, for the `ha_assist` tests: POST
 * /api/conversation/process with `Authorization: Bearer <long-lived token>` (else 401,
 * "401: Unauthorized", as aiohttp answers), the body checked as HA's voluptuous schema does
 * (`text` required; `conversation_id`, `language`, `agent_id` optional strings: a null is
 * refused with 400 "Message format incorrect"), answered with ConversationResult.as_dict():
 * `{response: {speech: {plain: {speech, extra_data}}, card, language, response_type, data},
 * conversation_id, continue_conversation}`. A new conversation gets a new ULID-like id; a
 * known one is continued.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';

export interface FakeAssistRequest {
  authorization?: string;
  body: Record<string, unknown>;
}

export interface FakeAssistAnswer {
  speech: string;
  /** HA's response types: action_done, query_answer, error. */
  responseType?: 'action_done' | 'query_answer' | 'error';
  /** For errors: no_intent_match, no_valid_targets, failed_to_handle, unknown. */
  code?: string;
  /** Answer this late (ms). */
  delayMs?: number;
}

export const NO_INTENT_MATCH: FakeAssistAnswer = { speech: "Sorry, I couldn't understand that", responseType: 'error', code: 'no_intent_match' };

const ULID_CHARS = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const newConversationId = () => Array.from(randomBytes(26), (b) => ULID_CHARS[b % 32]).join('');

export class FakeHomeAssistant {
  readonly requests: FakeAssistRequest[] = [];
  /** Decides each answer from the request body (default: "Done."). */
  answer: (body: Record<string, unknown>) => FakeAssistAnswer = () => ({ speech: 'Done.' });
  private readonly conversations = new Set<string>();
  private readonly sockets = new Set<import('node:net').Socket>();

  private constructor(
    private readonly server: http.Server,
    readonly token: string,
    readonly url: string,
  ) {}

  static async start(token = 'long-lived-test-token'): Promise<FakeHomeAssistant> {
    let self: FakeHomeAssistant | undefined;
    const server = http.createServer((req, res) => void self!.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    self = new FakeHomeAssistant(server, token, `http://127.0.0.1:${port}`);
    server.on('connection', (socket) => {
      self!.sockets.add(socket);
      socket.once('close', () => self!.sockets.delete(socket));
    });
    return self;
  }

  close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (req.method !== 'POST' || req.url !== '/api/conversation/process') return this.reply(res, 404, '404: Not Found', 'text/plain');
    if (req.headers.authorization !== `Bearer ${this.token}`) return this.reply(res, 401, '401: Unauthorized', 'text/plain');
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
    } catch {
      return this.reply(res, 400, JSON.stringify({ message: 'Invalid JSON.' }));
    }
    this.requests.push({ authorization: req.headers.authorization, body });
    const problem = schemaProblem(body);
    if (problem) return this.reply(res, 400, JSON.stringify({ message: `Message format incorrect: ${problem}` }));

    const answer = this.answer(body);
    if (answer.delayMs) await new Promise((resolve) => setTimeout(resolve, answer.delayMs));
    let conversationId = typeof body.conversation_id === 'string' && this.conversations.has(body.conversation_id) ? body.conversation_id : undefined;
    if (!conversationId) {
      conversationId = newConversationId();
      this.conversations.add(conversationId);
    }
    const result = {
      response: {
        speech: { plain: { speech: answer.speech, extra_data: null } },
        card: {},
        language: typeof body.language === 'string' ? body.language : 'en',
        response_type: answer.responseType ?? 'action_done',
        data: answer.responseType === 'error' ? { code: answer.code ?? 'unknown' } : { targets: [], success: [], failed: [] },
      },
      conversation_id: conversationId,
      continue_conversation: false,
    };
    this.reply(res, 200, JSON.stringify(result));
  }

  private reply(res: http.ServerResponse, status: number, body: string, type = 'application/json'): void {
    if (res.destroyed) return;
    res.writeHead(status, { 'content-type': type }).end(body);
  }
}

/** What HA's RequestDataValidator would refuse (vol.Required("text"): str, vol.Optional(...): str). */
function schemaProblem(body: Record<string, unknown>): string | undefined {
  if (typeof body.text !== 'string') return "required key not provided @ data['text']";
  for (const key of ['conversation_id', 'language', 'agent_id']) {
    if (key in body && typeof body[key] !== 'string') return `expected str for dictionary value @ data['${key}']`;
  }
  return undefined;
}
