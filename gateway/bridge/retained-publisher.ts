/**
 * Publishes the bridge's retained messages idempotently: the last payload per topic is
 * remembered and an unchanged one is not sent again (a restart or a resync republishes
 * nothing that HA already has). Discovery configs and states are kept apart so that, after
 * Home Assistant's birth, every config goes out before any state.
 */
import type { Logger } from '../logger.ts';
import type { MqttBus } from '../transport/index.ts';

export type RetainedKind = 'discovery' | 'state';

export class RetainedPublisher {
  private readonly last: Record<RetainedKind, Map<string, string>> = { discovery: new Map(), state: new Map() };

  constructor(
    private readonly bus: Pick<MqttBus, 'publish'>,
    private readonly logger: Logger,
  ) {}

  /**
   * Publishes `payload` retained (QoS 1) unless it is what this topic already holds. True when
   * sent. `force`: send even so (a topic another writer may also change).
   */
  async publish(kind: RetainedKind, topic: string, payload: string, force = false): Promise<boolean> {
    const remembered = this.last[kind];
    if (!force && remembered.get(topic) === payload) return false;
    remembered.set(topic, payload);
    return this.send(kind, topic, payload);
  }

  /** Removes a retained message (empty payload): Home Assistant deletes a config that becomes empty. */
  async clear(kind: RetainedKind, topic: string): Promise<void> {
    this.last[kind].delete(topic);
    await this.send(kind, topic, '');
  }

  /** Clears every remembered topic that starts with `prefix` (a removed wearable's states). */
  async clearUnder(kind: RetainedKind, prefix: string): Promise<void> {
    const topics = [...this.last[kind].keys()].filter((topic) => topic.startsWith(prefix));
    await Promise.all(topics.map((topic) => this.clear(kind, topic)));
  }

  /** Sends everything again, configs first (Home Assistant restarted, or the broker forgot). */
  async republishAll(): Promise<number> {
    let sent = 0;
    for (const kind of ['discovery', 'state'] as const) {
      const entries = [...this.last[kind]];
      const results = await Promise.all(entries.map(([topic, payload]) => this.send(kind, topic, payload)));
      sent += results.filter(Boolean).length;
    }
    return sent;
  }

  /** What was last published on `topic`, if anything. */
  current(kind: RetainedKind, topic: string): string | undefined {
    return this.last[kind].get(topic);
  }

  private async send(kind: RetainedKind, topic: string, payload: string): Promise<boolean> {
    try {
      await this.bus.publish(topic, payload, { qos: 1, retain: true });
      return true;
    } catch (err) {
      // Forget it, so the next publish (or resync) tries again instead of thinking it is there.
      if (this.last[kind].get(topic) === payload) this.last[kind].delete(topic);
      this.logger.warn({ err, topic }, 'could not publish to home assistant');
      return false;
    }
  }
}
