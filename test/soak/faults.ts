/**
 * The soak's faults and their schedule: every `intervalMs` the next kind in turn is injected,
 * so each kind comes round again and again (and at least once in a short run). Each kind is
 * counted when injected and again when it took effect (`hit`): a queued LLM failure a request
 * took, a TTS failure a synthesis hit, a drop that cut a reply, a malformed-frame round the
 * gateway answered, a broker restart done.
 */
import type { FakeChatScript } from '../fakes/fake-groq-server.ts';

export const FAULT_KINDS = [
  'llm_500',
  'llm_stall_before_first_token',
  'llm_stall_mid_reply',
  'tts_failure',
  'malformed_frames',
  'disconnect_mid_reply',
  'broker_restart',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export const FAULT_DESCRIPTIONS: Record<FaultKind, string> = {
  llm_500: 'the fake LLM answers HTTP 500 to a request and to its retry',
  llm_stall_before_first_token: 'the fake LLM accepts a request and never answers (first-token timeout)',
  llm_stall_mid_reply: 'the fake LLM streams the first sentence, then goes silent (total timeout)',
  tts_failure: 'the next synthesis fails (ProviderError unavailable)',
  malformed_frames: 'a device per transport sends a turn littered with bad frames (oversized audio, broken JSON, unknown type, schema violation, MQTT frame without header)',
  disconnect_mid_reply: 'a device (transports in turn) cuts its connection without goodbye at its next reply audio packet',
  broker_restart: 'the external Mosquitto is stopped (SIGTERM) and started again on the same port after 2 s',
};

export interface FaultCount {
  injected: number;
  hit: number;
}

export type FaultCounts = Record<FaultKind, FaultCount>;

export function emptyFaultCounts(kinds: readonly FaultKind[]): FaultCounts {
  return Object.fromEntries(kinds.map((kind) => [kind, { injected: 0, hit: 0 }])) as FaultCounts;
}

/** The LLM scripts of one injection of an LLM fault. */
export function llmFaultScripts(kind: FaultKind, reply: string, maxRetries: number, tokenDelayMs: number): FakeChatScript[] {
  switch (kind) {
    case 'llm_500':
      // The call policy retries a 500 (maxRetries times): every try fails, so the turn does.
      return Array.from({ length: 1 + maxRetries }, () => ({ type: 'error', status: 500, message: 'soak: injected server error' }) as const);
    case 'llm_stall_before_first_token':
      return [{ type: 'hang' }];
    case 'llm_stall_mid_reply': {
      const firstSentenceTokens = (reply.split(/(?<=[.!?])\s/)[0] ?? reply).split(/\s+/).length;
      return [{ type: 'text', text: reply, tokenDelayMs, stallAfterTokens: firstSentenceTokens + 1 }];
    }
    default:
      return [];
  }
}

/**
 * Which injections of LLM faults no request took, given the scripts left in the fake's queue
 * (the queue is first in, first out: the leftovers are the last scripts enqueued).
 */
export function llmFaultsHit(injections: ReadonlyArray<{ kind: FaultKind; scripts: number }>, leftoverScripts: number): Map<FaultKind, number> {
  const hit = new Map<FaultKind, number>();
  let left = leftoverScripts;
  for (let i = injections.length - 1; i >= 0; i--) {
    const { kind, scripts } = injections[i]!;
    const untaken = Math.min(left, scripts);
    left -= untaken;
    // A 500 burst took effect when its first script was taken.
    if (untaken < scripts) hit.set(kind, (hit.get(kind) ?? 0) + 1);
  }
  return hit;
}

/** The interval that fits every kind at least once into `windowMs`, but no shorter than needed. */
export function faultInterval(windowMs: number, kinds: number, preferredMs: number): number {
  return Math.max(500, Math.min(preferredMs, Math.floor(windowMs / kinds)));
}
