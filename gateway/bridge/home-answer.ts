/**
 * What the two "Home Assistant answers first" modes share (`ha_conversation` over MQTT,
 * `ha_assist` over HA's REST API): Home Assistant's answer is spoken sentence by sentence;
 * one it did not handle (no intent matched, no words) goes to the wrapped responder, the LLM.
 */
import { sanitizeForSpeech } from '../brain/sanitize.ts';
import { splitSentences } from '../brain/sentence-splitter.ts';
import type { ReplyRequest, Responder } from '../brain/types.ts';

export interface HomeAnswer {
  speech: string;
  /** False: Home Assistant understood nothing it could do; the LLM answers instead. */
  handled: boolean;
}

/** Speaks a handled answer; anything else (also no answer at all) is the fallback's turn. */
export async function* speakOrFallback(answer: HomeAnswer | undefined, request: ReplyRequest, fallback: Responder): AsyncGenerator<string> {
  if (!answer?.handled) {
    yield* fallback.reply(request);
    return;
  }
  request.onFirstToken?.();
  for (const sentence of splitSentences(answer.speech)) {
    const spoken = sanitizeForSpeech(sentence).trim();
    if (spoken) yield spoken;
  }
}
