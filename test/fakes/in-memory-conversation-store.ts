/**
 * The two store functions conversation memory needs, in memory, with the same rules as
 * gateway/store (turns after the device's last reset and at/after `sinceMs`, non-empty
 * transcript, the latest `limit`, oldest first).
 */
import type { ConversationStore } from '../../gateway/brain/memory.ts';
import type { TurnRecord } from '../../gateway/store/types.ts';

export class InMemoryConversationStore implements ConversationStore {
  readonly records: TurnRecord[] = [];
  private readonly startedAt = new Map<string, number>();

  add(turn: Partial<TurnRecord> & Pick<TurnRecord, 'deviceId' | 'transcript' | 'reply' | 'startedAt'>): void {
    this.records.push({ turn: this.records.length + 1, kind: 'text', endedAt: turn.startedAt, timings: {}, outcome: 'completed', ...turn });
  }

  readonly turns = {
    recentConversation: (deviceId: string, options: { limit: number; sinceMs: number }): TurnRecord[] => {
      const since = Math.max(options.sinceMs, this.startedAt.get(deviceId) ?? 0);
      return this.records
        .filter((t) => t.deviceId === deviceId && t.startedAt >= since && t.transcript !== '')
        .sort((a, b) => a.startedAt - b.startedAt)
        .slice(-options.limit);
    },
  };

  readonly devices = {
    resetConversation: (deviceId: string, when: number): boolean => {
      this.startedAt.set(deviceId, when);
      return true;
    },
  };
}
