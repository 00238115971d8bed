/**
 * Mode `ha_conversation`: each transcript first goes to Home Assistant's own conversation
 * agent (its intents: "turn on the kitchen light") through an MQTT request/response that an
 * HA automation answers (homeassistant-conversation.yaml). Its spoken answer is the reply;
 * when HA says it did not handle the request (`handled: false`, e.g. no intent matched), the
 * wrapped responder (the LLM) answers instead.
 *
 *   request  → <bridge>/gateway/conversation/request  {"id","device","text","conversation_id","language"?}
 *   response ← <bridge>/gateway/conversation/response {"id","speech","handled"}
 */
import { randomUUID } from 'node:crypto';
import type { ReplyRequest, Responder } from '../brain/types.ts';
import type { Logger } from '../logger.ts';
import { ProviderError } from '../providers.ts';
import type { MqttBus, Unsubscribe } from '../transport/index.ts';
import type { BridgeTopics } from './bridge-topics.ts';
import { speakOrFallback, type HomeAnswer as Answer } from './home-answer.ts';

/** Requests waiting for an answer at once; more means HA is not answering and the rest fail fast. */
export const MAX_PENDING_CONVERSATIONS = 100;

interface Waiting {
  resolve(answer: Answer): void;
  reject(err: Error): void;
}

export interface HaConversationOptions {
  fallback: Responder;
  topics: BridgeTopics;
  timeoutMs: number;
  logger: Logger;
}

function parseAnswer(payload: string): ({ id: string } & Answer) | null {
  try {
    const json: unknown = JSON.parse(payload);
    if (typeof json !== 'object' || json === null) return null;
    const { id, speech, handled } = json as Record<string, unknown>;
    if (typeof id !== 'string') return null;
    const text = typeof speech === 'string' ? speech.trim() : '';
    return { id, speech: text, handled: handled !== false && text.length > 0 };
  } catch {
    return null;
  }
}

export class HaConversationResponder implements Responder {
  private bus: MqttBus | undefined;
  private unsubscribe: Unsubscribe | undefined;
  private readonly waiting = new Map<string, Waiting>();
  /** Per device: a new conversation id after `reset`, so HA forgets its context too. */
  private readonly conversations = new Map<string, string>();
  private readonly log: Logger;

  constructor(private readonly o: HaConversationOptions) {
    this.log = o.logger.child({ component: 'ha-conversation' });
  }

  async attach(bus: MqttBus): Promise<void> {
    this.bus = bus;
    this.unsubscribe = await bus.subscribe(this.o.topics.conversationResponse(), (_topic, payload, retained) => {
      if (retained) return; // an old answer, not one to a question asked now
      const answer = parseAnswer(payload.toString('utf8'));
      if (!answer) {
        this.log.warn('conversation response is not {"id","speech","handled"} JSON; ignored');
        return;
      }
      this.waiting.get(answer.id)?.resolve(answer);
    });
  }

  detach(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.bus = undefined;
    for (const waiter of this.waiting.values()) waiter.reject(new ProviderError('home assistant bridge stopped', false, 'aborted'));
    this.waiting.clear();
  }

  async *reply(request: ReplyRequest): AsyncGenerator<string> {
    // Home Assistant acts on what it is told ("turn on the light"): a speculative reply waits for the commit.
    await request.beforeSideEffect?.();
    const answer = await this.ask(request);
    if (!answer.handled) this.log.debug({ device: request.deviceId }, 'home assistant did not handle it; asking the language model');
    yield* speakOrFallback(answer, request, this.o.fallback);
  }

  resetConversation(deviceId: string): void {
    this.conversations.delete(deviceId);
    this.o.fallback.resetConversation(deviceId);
  }

  private conversationId(deviceId: string): string {
    let id = this.conversations.get(deviceId);
    if (!id) {
      id = `voxgate-${deviceId}-${Date.now().toString(36)}`;
      this.conversations.set(deviceId, id);
    }
    return id;
  }

  private async ask(request: ReplyRequest): Promise<Answer> {
    const bus = this.bus;
    if (!bus) throw new ProviderError('home assistant conversation is not connected', true, 'unavailable');
    if (this.waiting.size >= MAX_PENDING_CONVERSATIONS) throw new ProviderError('home assistant is not answering', true, 'unavailable');
    const id = randomUUID();
    const answer = new Promise<Answer>((resolve, reject) => {
      const finish = () => {
        clearTimeout(timer);
        request.signal.removeEventListener('abort', onAbort);
        this.waiting.delete(id);
      };
      const onAbort = () => {
        finish();
        reject(new ProviderError('reply aborted', false, 'aborted'));
      };
      const timer = setTimeout(() => {
        finish();
        reject(new ProviderError(`home assistant did not answer within ${this.o.timeoutMs} ms`, true, 'timeout'));
      }, this.o.timeoutMs);
      request.signal.addEventListener('abort', onAbort, { once: true });
      this.waiting.set(id, {
        resolve: (value) => (finish(), resolve(value)),
        reject: (err) => (finish(), reject(err)),
      });
    });
    answer.catch(() => {}); // awaited below; a publish failure must not leave it unhandled
    const body = {
      id,
      device: request.deviceId,
      text: request.text,
      conversation_id: this.conversationId(request.deviceId),
      ...(request.language ? { language: request.language } : {}),
    };
    await bus.publish(this.o.topics.conversationRequest(), JSON.stringify(body), { qos: 1, retain: false }).catch((err: unknown) => {
      this.waiting.get(id)?.reject(new ProviderError(`could not ask home assistant: ${(err as Error).message}`, true, 'unavailable'));
    });
    return answer;
  }
}
