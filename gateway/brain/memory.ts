/**
 * A device's conversation as LLM context: its last N turns within a time window, since
 * its last `reset`. Backed by the store, so it survives restarts. The session stores
 * only what was actually spoken as a turn's reply (after a barge-in, the spoken part),
 * so memory holds what the user heard, not what the model meant to say.
 */
import type { TurnRecord } from '../store/types.ts';
import type { ChatMessage } from './types.ts';

/** Ten exchanges are plenty for a spoken conversation and keep prompts (and latency) small. */
export const DEFAULT_MEMORY_TURNS = 10;
/** After an hour's pause, a new question is a new conversation. */
export const DEFAULT_MEMORY_WINDOW_MINUTES = 60;

export interface ConversationMemory {
  /** The device's recent conversation as user/assistant pairs, oldest first. */
  recent(deviceId: string): ChatMessage[];
  /** Starts a new conversation (protocol `reset`). */
  reset(deviceId: string): void;
}

/** What memory needs from the store (gateway/store's Store satisfies it). */
export interface ConversationStore {
  turns: {
    /** Oldest first; only turns after the device's last reset and at/after `sinceMs`. */
    recentConversation(deviceId: string, options: { limit: number; sinceMs: number }): Array<Pick<TurnRecord, 'transcript' | 'reply'>>;
  };
  devices: {
    resetConversation(deviceId: string, when: number): unknown;
  };
}

export interface StoreMemoryOptions {
  /** Past turns to send (0: no memory). */
  turns?: number;
  windowMinutes?: number;
  now?: () => number;
}

export class StoreConversationMemory implements ConversationMemory {
  private readonly turns: number;
  private readonly windowMs: number;
  private readonly now: () => number;

  constructor(
    private readonly store: ConversationStore,
    options: StoreMemoryOptions = {},
  ) {
    this.turns = options.turns ?? DEFAULT_MEMORY_TURNS;
    this.windowMs = (options.windowMinutes ?? DEFAULT_MEMORY_WINDOW_MINUTES) * 60_000;
    this.now = options.now ?? Date.now;
  }

  recent(deviceId: string): ChatMessage[] {
    if (this.turns <= 0) return [];
    const turns = this.store.turns.recentConversation(deviceId, { limit: this.turns, sinceMs: this.now() - this.windowMs });
    const messages: ChatMessage[] = [];
    for (const turn of turns) {
      // A question that got no spoken answer (a failure, an instant barge-in) is left out:
      // the model would otherwise answer it again now.
      if (!turn.transcript.trim() || !turn.reply.trim()) continue;
      messages.push({ role: 'user', content: turn.transcript }, { role: 'assistant', content: turn.reply });
    }
    return messages;
  }

  reset(deviceId: string): void {
    this.store.devices.resetConversation(deviceId, this.now());
  }
}
