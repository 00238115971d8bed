/**
 * What the MQTT device transport (and later the home-automation bridge) needs from a broker,
 * whether the gateway embeds one (embedded-broker.ts) or is a client of an external one
 * (external-broker.ts). Both publish the gateway's retained state (`online`/`offline`).
 */

export type MqttQos = 0 | 1;

export interface MqttPublishOptions {
  qos: MqttQos;
  retain?: boolean;
}

/** `retained`: a stored message replayed because we subscribed, not one published just now. */
export type MqttMessageHandler = (topic: string, payload: Buffer, retained: boolean) => void;

/** Undo for `subscribe`/`onDeviceDisconnect`. */
export type Unsubscribe = () => void;

export interface MqttBus {
  readonly mode: 'embedded' | 'external';
  /** Resolves once the broker took it (or, for QoS 0 on an external broker, once it was written). */
  publish(topic: string, payload: string | Uint8Array, options: MqttPublishOptions): Promise<void>;
  /** Calls `handler` for every message on a topic matching `filter` (MQTT wildcards), in arrival order. */
  subscribe(filter: string, handler: MqttMessageHandler): Promise<Unsubscribe>;
  /**
   * Device connections that ended (clean disconnect, lost socket, keepalive timeout, replaced by a
   * newer connection). Only a broker that authenticates devices can tell: an external broker never
   * calls this, and there the device's will (`goodbye`) is the only news of a lost device.
   */
  onDeviceDisconnect(listener: (deviceId: string, reason: string) => void): Unsubscribe;
  /** Drops a device's MQTT connection where the bus can (embedded); a no-op on an external broker. */
  disconnectDevice(deviceId: string): void;
  /** Publishes the gateway's retained `offline` and stops. */
  close(): Promise<void>;
  /**
   * Whether the bus can carry messages now (/health): the embedded broker while it runs, an
   * external broker while the gateway's connection to it is up (it reconnects by itself).
   */
  isConnected(): boolean;
}

/** MQTT 3.1.1 §4.7 topic filter matching (`+` one level, `#` the rest; `$` topics never match a leading wildcard). */
export function topicMatches(filter: string, topic: string): boolean {
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    const level = f[i];
    if (level === '#') return true;
    if (i >= t.length) return false;
    if (level !== '+' && level !== t[i]) return false;
  }
  return f.length === t.length;
}

export const GATEWAY_ONLINE = 'online';
export const GATEWAY_OFFLINE = 'offline';
