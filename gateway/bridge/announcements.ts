/**
 * Messages Home Assistant wants a wearable to say (its notify entity). Each is spoken as
 * soon as the wearable can: at once when it is connected and idle, when it next connects if
 * it is asleep, or when its current turn ends if the wearer is talking. A message not spoken
 * within the expiry is dropped (stale news is worse than none); only the newest few wait.
 * While a wearable is muted, messages for it are dropped, not kept.
 */
import type { Logger } from '../logger.ts';
import type { AnnounceResult } from '../session/session-hub.ts';

export interface AnnouncementTarget {
  announce(deviceId: string, text: string): Promise<AnnounceResult>;
  interrupt(deviceId: string): boolean;
}

export interface AnnouncementQueueOptions {
  sessions: AnnouncementTarget;
  expiryMs: number;
  maxQueued: number;
  isMuted(deviceId: string): boolean;
  logger: Logger;
  now?: () => number;
}

interface Pending {
  text: string;
  expiresAt: number;
}

interface DeviceQueue {
  pending: Pending[];
  /** An announcement is being spoken (or attempted) for this device. */
  delivering: boolean;
}

export class AnnouncementQueue {
  private readonly queues = new Map<string, DeviceQueue>();
  private readonly now: () => number;
  private closed = false;

  constructor(private readonly o: AnnouncementQueueOptions) {
    this.now = o.now ?? Date.now;
  }

  /** Queues a message and tries to speak it now. */
  say(deviceId: string, text: string): void {
    if (this.closed) return;
    if (this.o.isMuted(deviceId)) {
      this.o.logger.info({ device: deviceId }, 'wearable is muted; announcement dropped');
      return;
    }
    const queue = this.queue(deviceId);
    queue.pending.push({ text, expiresAt: this.now() + this.o.expiryMs });
    while (queue.pending.length > this.o.maxQueued) {
      queue.pending.shift();
      this.o.logger.warn({ device: deviceId, max: this.o.maxQueued }, 'too many announcements waiting; dropped the oldest');
    }
    void this.deliver(deviceId);
  }

  /** The wearable connected or finished a turn: speak what waits. */
  ready(deviceId: string): void {
    if (this.queues.get(deviceId)?.pending.length) void this.deliver(deviceId);
  }

  /** Stop speaking: forget what waits and cut what plays (reply or announcement). */
  stop(deviceId: string): boolean {
    this.drop(deviceId);
    return this.o.sessions.interrupt(deviceId);
  }

  /** Forgets what waits for a wearable (muted, removed). */
  drop(deviceId: string): void {
    const queue = this.queues.get(deviceId);
    if (!queue) return;
    queue.pending.length = 0;
    if (!queue.delivering) this.queues.delete(deviceId);
  }

  waiting(deviceId: string): number {
    return this.queues.get(deviceId)?.pending.length ?? 0;
  }

  close(): void {
    this.closed = true;
    this.queues.clear();
  }

  private queue(deviceId: string): DeviceQueue {
    let queue = this.queues.get(deviceId);
    if (!queue) {
      queue = { pending: [], delivering: false };
      this.queues.set(deviceId, queue);
    }
    return queue;
  }

  /** Speaks waiting messages one after another until one must wait (offline, busy) or none is left. */
  private async deliver(deviceId: string): Promise<void> {
    const queue = this.queues.get(deviceId);
    if (!queue || queue.delivering) return;
    queue.delivering = true;
    try {
      for (;;) {
        if (this.closed) return;
        const expired = queue.pending.findIndex((p) => p.expiresAt > this.now());
        const stale = expired === -1 ? queue.pending.length : expired;
        if (stale > 0) {
          queue.pending.splice(0, stale);
          this.o.logger.info({ device: deviceId, dropped: stale }, 'announcements expired before the wearable could say them');
        }
        const next = queue.pending[0];
        if (!next) return;
        let result: AnnounceResult;
        try {
          result = await this.o.sessions.announce(deviceId, next.text);
        } catch (err) {
          this.o.logger.error({ err, device: deviceId }, 'announcement failed');
          result = 'failed';
        }
        if (result === 'offline' || result === 'busy') return; // ready() tries again
        if (queue.pending[0] === next) queue.pending.shift();
        this.o.logger.info({ device: deviceId, result }, 'announcement');
      }
    } finally {
      queue.delivering = false;
      if (queue.pending.length === 0 && this.queues.get(deviceId) === queue) this.queues.delete(deviceId);
    }
  }
}
