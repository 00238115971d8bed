/**
 * The MQTT device transport (docs/protocol.md §1.2, §1.3) on top of any MqttBus: it hears every
 * device's `up/` topics, keeps one session per device id, and publishes the session's replies on
 * the device's `down/` topics. Authentication and the ACL are the broker's job (embedded-broker.ts
 * or the external broker's configuration); this module trusts the device id in the topic, but
 * only serves registered ids (`isRegistered`): on an external broker any login the ACL lets
 * publish under the prefix would otherwise get a session (an unknown id is logged once, ignored).
 *
 * Sessions open lazily: the first control message from a device without one opens it (the session
 * itself insists on hello first). Audio never opens a session (frames still in flight after a
 * goodbye must not start a new one), and neither does `goodbye` (a will arriving after the
 * disconnect was already noticed). A session ends on `goodbye` (also the will `lost`), when the bus
 * reports the device's connection gone, or when the session closes its link.
 */
import {
  FRAME_KIND,
  createTopics,
  decodeAudioFrame,
  encodeAudioFrame,
  parseDeviceMessage,
  type DeviceMessage,
  type ParseResult,
} from '../../protocol/index.ts';
import type { Logger } from '../logger.ts';
import type { DeviceLink, DeviceSessionPort, SessionOpener } from '../session/link.ts';
import type { MqttBus, Unsubscribe } from './mqtt-bus.ts';

export const AVAILABILITY_ONLINE = 'online';
export const AVAILABILITY_OFFLINE = 'offline';

export interface MqttDeviceTransportOptions {
  bus: MqttBus;
  topicPrefix: string;
  openSession: SessionOpener;
  logger: Logger;
  /** Whether a device id is registered now; messages of other ids open no session. Default: every id. */
  isRegistered?: (deviceId: string) => boolean;
}

export interface MqttDeviceTransport {
  /** Devices with an open session right now. */
  readonly sessionCount: number;
  /** Stops listening and ends every session (`disconnected('gateway stopping')`, availability `offline`). */
  close(): Promise<void>;
}

interface DeviceEntry {
  deviceId: string;
  /** Unset only while `openSession` runs. */
  port?: DeviceSessionPort;
  log: Logger;
  ended: boolean;
  /** A device sending broken audio frames is logged once per session, not once per frame. */
  badFrameLogged: boolean;
}

export async function startMqttDeviceTransport(options: MqttDeviceTransportOptions): Promise<MqttDeviceTransport> {
  const { bus, openSession } = options;
  const logger = options.logger.child({ transport: 'mqtt' });
  const topics = createTopics(options.topicPrefix);
  const sessions = new Map<string, DeviceEntry>();
  /** Devices whose sessionless audio was already logged (bounded: reset when it grows too large). */
  const sessionlessAudioLogged = new Set<string>();
  /** Unregistered ids already logged (bounded the same way: anyone may invent ids). */
  const unknownLogged = new Set<string>();
  const isRegistered = (deviceId: string): boolean => {
    try {
      return options.isRegistered?.(deviceId) ?? true;
    } catch (err) {
      logger.error({ err, device: deviceId }, 'could not look up a device; its message is ignored');
      return false;
    }
  };

  const publishQuietly = (topic: string, payload: string | Uint8Array, qos: 0 | 1, retain = false) =>
    bus.publish(topic, payload, { qos, retain }).catch((err: unknown) => logger.warn({ err, topic }, 'mqtt publish failed'));

  function end(entry: DeviceEntry, reason: string, dropConnection = false): Promise<unknown> {
    if (entry.ended) return Promise.resolve();
    entry.ended = true;
    if (sessions.get(entry.deviceId) === entry) sessions.delete(entry.deviceId);
    const published = publishQuietly(topics.availability(entry.deviceId), AVAILABILITY_OFFLINE, 1, true);
    if (dropConnection) bus.disconnectDevice(entry.deviceId);
    entry.log.info({ reason }, 'mqtt session ended');
    try {
      entry.port?.disconnected(reason);
    } catch (err) {
      entry.log.error({ err }, 'session failed on disconnect');
    }
    return published;
  }

  /** Runs a session call; a session that throws loses its session (and connection), the gateway goes on. */
  function guarded(entry: DeviceEntry, call: () => void): void {
    try {
      call();
    } catch (err) {
      entry.log.error({ err }, 'session failed on an mqtt message');
      end(entry, 'internal error', true);
    }
  }

  function open(deviceId: string): DeviceEntry | null {
    const log = logger.child({ device: deviceId });
    const entry: DeviceEntry = { deviceId, log, ended: false, badFrameLogged: false };
    const link: DeviceLink = {
      deviceId,
      transport: 'mqtt',
      send(message) {
        if (!entry.ended) void publishQuietly(topics.downCtrl(deviceId), JSON.stringify(message), 1);
      },
      sendAudio(packet, turn, seq) {
        if (entry.ended) return;
        void publishQuietly(topics.downAudio(deviceId), encodeAudioFrame({ kind: FRAME_KIND.reply, seq, turn, payload: packet }), 0);
      },
      close(reason) {
        end(entry, reason, true);
      },
    };
    try {
      entry.port = openSession(link);
    } catch (err) {
      log.error({ err }, 'could not open a session');
      return null;
    }
    if (entry.ended) return null; // the session closed its link while opening
    sessions.set(deviceId, entry);
    sessionlessAudioLogged.delete(deviceId);
    void publishQuietly(topics.availability(deviceId), AVAILABILITY_ONLINE, 1, true);
    log.info('mqtt session opened');
    return entry;
  }

  function onControl(deviceId: string, payload: Buffer): void {
    const result: ParseResult<DeviceMessage> = parseDeviceMessage(payload.toString('utf8'));
    const goodbye = result.kind === 'message' && result.message.type === 'goodbye' ? result.message : null;
    let entry = sessions.get(deviceId);
    if (!entry) {
      if (goodbye) return; // nothing to end: the disconnect was already handled
      if (!isRegistered(deviceId)) {
        if (unknownLogged.size > 10_000) unknownLogged.clear();
        if (!unknownLogged.has(deviceId)) {
          unknownLogged.add(deviceId);
          logger.warn({ device: deviceId.slice(0, 64) }, 'mqtt message from an unregistered device id ignored (further ones silently)');
        }
        return;
      }
      unknownLogged.delete(deviceId);
      entry = open(deviceId) ?? undefined;
      if (!entry) return;
    }
    const current = entry;
    guarded(current, () => current.port?.receiveControl(result));
    if (goodbye) end(current, `goodbye: ${goodbye.reason ?? 'unspecified'}`);
  }

  function onAudio(deviceId: string, payload: Buffer): void {
    const entry = sessions.get(deviceId);
    if (!entry) {
      if (sessionlessAudioLogged.size > 10_000) sessionlessAudioLogged.clear();
      if (!sessionlessAudioLogged.has(deviceId)) {
        sessionlessAudioLogged.add(deviceId);
        logger.debug({ device: deviceId }, 'audio from a device without a session (dropped)');
      }
      return;
    }
    const decoded = decodeAudioFrame(payload);
    const problem = !decoded.ok ? decoded.reason : decoded.frame.kind !== FRAME_KIND.mic ? 'uplink audio frame is not kind 1 (mic)' : null;
    if (problem || !decoded.ok) {
      if (!entry.badFrameLogged) {
        entry.badFrameLogged = true;
        entry.log.warn({ reason: problem }, 'bad audio frame dropped (further ones silently)');
      }
      return;
    }
    const { frame } = decoded;
    guarded(entry, () => entry.port?.receiveAudio({ packet: frame.payload, turn: frame.turn, seq: frame.seq }));
  }

  let closed = false;
  const unsubscribe: Unsubscribe = await bus.subscribe(topics.allUplinks(), (topic, payload, retained) => {
    if (closed) return; // an external broker may still deliver while the unsubscribe travels
    const parsed = topics.parse(topic);
    if (!parsed) return;
    if (retained) {
      // A retained uplink (possible on an external broker) is an old message, not something the device says now.
      logger.debug({ device: parsed.deviceId, channel: parsed.channel }, 'retained uplink ignored');
      return;
    }
    if (parsed.channel === 'up/ctrl') onControl(parsed.deviceId, payload);
    else if (parsed.channel === 'up/audio') onAudio(parsed.deviceId, payload);
  });
  const stopDisconnects = bus.onDeviceDisconnect((deviceId, reason) => {
    const entry = sessions.get(deviceId);
    if (entry) end(entry, reason);
  });
  logger.info({ mode: bus.mode, uplinks: topics.allUplinks() }, 'mqtt device transport listening');

  return {
    get sessionCount() {
      return sessions.size;
    },
    async close() {
      if (closed) return;
      closed = true;
      unsubscribe();
      stopDisconnects();
      await Promise.all([...sessions.values()].map((entry) => end(entry, 'gateway stopping')));
    },
  };
}
