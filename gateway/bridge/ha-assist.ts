/**
 * Mode `ha_assist`: each transcript goes to Home Assistant's own Assist through its REST API,
 * `POST <url>/api/conversation/process` `{text, language, conversation_id, agent_id}` with a
 * long-lived access token, and `response.speech.plain.speech` is spoken. The returned
 * `conversation_id` is kept per wearable, so a follow-up ("and the hall too") continues the
 * same conversation; `reset` forgets it.
 *
 * `response_type: "error"` with `no_intent_match` goes to the wrapped responder (the LLM), as
 * `ha_conversation` does. So does a Home Assistant that cannot be reached, refuses the token
 * or does not answer within `timeoutMs`: the wearer still gets an answer, and if the LLM
 * fails too, the turn's usual apology. Such a problem is logged once, not every turn.
 */
import type { ReplyRequest, Responder } from '../brain/types.ts';
import type { Logger } from '../logger.ts';
import { ProviderError } from '../providers.ts';
import { speakOrFallback, type HomeAnswer } from './home-answer.ts';

export const CONVERSATION_PROCESS_PATH = '/api/conversation/process';

export interface HaAssistOptions {
  fallback: Responder;
  /** Home Assistant's base URL (http://homeassistant.local:8123). */
  url: string;
  token: string;
  agentId?: string;
  timeoutMs: number;
  logger: Logger;
}

interface AssistAnswer extends HomeAnswer {
  conversationId?: string;
  responseType?: string;
  code?: string;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;

/** Reads the parts of ConversationResult.as_dict() this mode uses. */
export function parseConversationResult(json: unknown): AssistAnswer {
  if (!isObject(json) || !isObject(json.response)) throw new Error('the answer has no "response" object');
  const response = json.response;
  const plain = isObject(response.speech) && isObject(response.speech.plain) ? response.speech.plain : {};
  const speech = typeof plain.speech === 'string' ? plain.speech.trim() : '';
  const responseType = typeof response.response_type === 'string' ? response.response_type : undefined;
  const code = isObject(response.data) && typeof response.data.code === 'string' ? response.data.code : undefined;
  const noIntent = responseType === 'error' && code === 'no_intent_match';
  return {
    speech,
    handled: !noIntent && speech.length > 0,
    conversationId: typeof json.conversation_id === 'string' ? json.conversation_id : undefined,
    responseType,
    code,
  };
}

export class HaAssistResponder implements Responder {
  /** Per wearable: the conversation Home Assistant returned last. */
  private readonly conversations = new Map<string, string>();
  private readonly endpoint: string;
  private readonly log: Logger;
  /** The problem logged last; the same one is not logged again until Home Assistant answers. */
  private problem?: string;

  constructor(private readonly o: HaAssistOptions) {
    this.endpoint = `${o.url.replace(/\/+$/, '')}${CONVERSATION_PROCESS_PATH}`;
    this.log = o.logger.child({ component: 'ha-assist' });
  }

  async *reply(request: ReplyRequest): AsyncGenerator<string> {
    let answer: AssistAnswer | undefined;
    try {
      answer = await this.ask(request);
      if (this.problem) this.log.info('home assistant answers again');
      this.problem = undefined;
    } catch (err) {
      if (request.signal.aborted) throw new ProviderError('reply aborted', false, 'aborted');
      this.report((err as Error).message);
    }
    if (answer && !answer.handled) {
      this.log.debug({ device: request.deviceId, type: answer.responseType, code: answer.code }, 'home assistant did not handle it; asking the language model');
    }
    yield* speakOrFallback(answer, request, this.o.fallback);
  }

  resetConversation(deviceId: string): void {
    this.conversations.delete(deviceId);
    this.o.fallback.resetConversation(deviceId);
  }

  private report(problem: string): void {
    if (problem === this.problem) return;
    this.problem = problem;
    this.log.warn({ err: problem, url: this.endpoint }, 'home assistant did not answer; the language model answers instead');
  }

  private async ask(request: ReplyRequest): Promise<AssistAnswer> {
    const conversationId = this.conversations.get(request.deviceId);
    // Home Assistant's schema wants strings for the optional fields: absent, never null.
    const body: Record<string, string> = { text: request.text };
    if (request.language) body.language = request.language;
    if (conversationId) body.conversation_id = conversationId;
    if (this.o.agentId) body.agent_id = this.o.agentId;
    const timeout = AbortSignal.timeout(this.o.timeoutMs);
    const signal = AbortSignal.any([request.signal, timeout]);
    let json: unknown;
    try {
      const response = await fetch(this.endpoint, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.o.token}`, 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(body),
        signal,
      });
      if (response.status === 401 || response.status === 403) {
        await response.body?.cancel();
        throw new Error(`Home Assistant refused the access token (HTTP ${response.status}): check VOXGATE_HA_TOKEN`);
      }
      if (!response.ok) {
        await response.body?.cancel();
        throw new Error(`Home Assistant answered HTTP ${response.status}`);
      }
      json = await response.json();
    } catch (err) {
      if (timeout.aborted && !request.signal.aborted) throw new Error(`Home Assistant did not answer within ${this.o.timeoutMs} ms`);
      if (request.signal.aborted) throw err;
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new Error(cause?.code || cause?.message ? `${(err as Error).message} (${cause.code ?? cause.message})` : (err as Error).message);
    }
    const answer = parseConversationResult(json);
    if (answer.conversationId) this.conversations.set(request.deviceId, answer.conversationId);
    return answer;
  }
}
