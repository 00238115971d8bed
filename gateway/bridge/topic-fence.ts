/**
 * Topics a learned home entity may never use. A discovery config is written by whoever holds
 * a service login (Home Assistant, zigbee2mqtt), and the gateway publishes an entity's commands
 * with its own rights: a command topic under the device prefix would let that config speak as
 * a wearable (`<devices>/<id>/up/ctrl`) or to it (`down/`), one under the bridge's own prefix
 * would trigger the bridge's commands (`notify/set` makes a wearable announce), and `$` topics
 * belong to the broker. State topics are fenced too: the gateway subscribes to them in-process,
 * past the broker's ACL, and would read a wearable's traffic into the LLM's tool results.
 */

export interface TopicFence {
  /** Why `topic` is refused, or undefined when an entity may use it. */
  refusal(topic: string): string | undefined;
}

export interface TopicFenceOptions {
  /** The wearables' prefix (`voxgate`). */
  devicePrefix: string;
  /** The bridge's state and command prefix (`voxgate-bridge`). */
  bridgePrefix: string;
}

/** True when `topic` is `prefix` or lies under it (MQTT levels, case-sensitive as MQTT is). */
function under(topic: string, prefix: string): boolean {
  return topic === prefix || topic.startsWith(`${prefix}/`);
}

export function createTopicFence(o: TopicFenceOptions): TopicFence {
  return {
    refusal(topic) {
      // `$SYS/…` and any other `$` topic are the broker's own (MQTT 3.1.1 §4.7.2).
      if (topic.startsWith('$')) return 'a broker-reserved $ topic';
      if (under(topic, o.devicePrefix)) return `under the wearables' prefix "${o.devicePrefix}"`;
      if (under(topic, o.bridgePrefix)) return `under the bridge's prefix "${o.bridgePrefix}"`;
      if (/[+#\u0000]/.test(topic)) return 'not a plain topic name';
      return undefined;
    },
  };
}
