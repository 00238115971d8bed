/** MQTT topic names of docs/protocol.md §1.2, and the ACL that follows from them. */

export const DEFAULT_TOPIC_PREFIX = 'voxgate';

/** Device ids must be safe as one MQTT topic level and in URLs; `gateway` names the gateway's own topic. */
export const DEVICE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
export const RESERVED_DEVICE_IDS = new Set(['gateway']);

export function isValidDeviceId(id: string): boolean {
  return DEVICE_ID_PATTERN.test(id) && !RESERVED_DEVICE_IDS.has(id);
}

export type DeviceChannel = 'up/ctrl' | 'up/audio' | 'down/ctrl' | 'down/audio' | 'availability';

export interface Topics {
  readonly prefix: string;
  upCtrl(deviceId: string): string;
  upAudio(deviceId: string): string;
  downCtrl(deviceId: string): string;
  downAudio(deviceId: string): string;
  availability(deviceId: string): string;
  /** Retained `online`/`offline`, also the gateway's will. */
  gatewayState(): string;
  /** Subscription the gateway uses to hear every device. */
  allUplinks(): string;
  /** Splits a device topic into its device id and channel, or null when it is not one. */
  parse(topic: string): { deviceId: string; channel: DeviceChannel } | null;
  /** docs/protocol.md §1.2 ACL: a device publishes only under its own `up/`. */
  devicePublishAllowed(deviceId: string, topic: string): boolean;
  /** docs/protocol.md §1.2 ACL: a device subscribes only to its own `down/` and the gateway state. */
  deviceSubscribeAllowed(deviceId: string, topicFilter: string): boolean;
}

const CHANNELS: readonly DeviceChannel[] = ['up/ctrl', 'up/audio', 'down/ctrl', 'down/audio', 'availability'];

export function createTopics(prefix: string = DEFAULT_TOPIC_PREFIX): Topics {
  if (!/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/.test(prefix)) {
    throw new Error(`invalid MQTT topic prefix: ${JSON.stringify(prefix)}`);
  }
  const base = `${prefix}/`;
  const of = (deviceId: string, channel: DeviceChannel) => `${base}${deviceId}/${channel}`;
  const gatewayState = `${base}gateway/state`;
  const downFilters = (deviceId: string) =>
    new Set([`${base}${deviceId}/down/#`, of(deviceId, 'down/ctrl'), of(deviceId, 'down/audio'), `${base}${deviceId}/down/+`]);
  return {
    prefix,
    upCtrl: (id) => of(id, 'up/ctrl'),
    upAudio: (id) => of(id, 'up/audio'),
    downCtrl: (id) => of(id, 'down/ctrl'),
    downAudio: (id) => of(id, 'down/audio'),
    availability: (id) => of(id, 'availability'),
    gatewayState: () => gatewayState,
    allUplinks: () => `${base}+/up/+`,
    parse(topic) {
      if (!topic.startsWith(base)) return null;
      const rest = topic.slice(base.length);
      const slash = rest.indexOf('/');
      if (slash <= 0) return null;
      const deviceId = rest.slice(0, slash);
      const channel = rest.slice(slash + 1) as DeviceChannel;
      if (!isValidDeviceId(deviceId) || !CHANNELS.includes(channel)) return null;
      return { deviceId, channel };
    },
    devicePublishAllowed(deviceId, topic) {
      return topic === of(deviceId, 'up/ctrl') || topic === of(deviceId, 'up/audio');
    },
    deviceSubscribeAllowed(deviceId, filter) {
      return filter === gatewayState || downFilters(deviceId).has(filter);
    },
  };
}
