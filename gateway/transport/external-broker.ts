/**
 * The gateway as a client of an external MQTT broker (config `mqttUrl`, env VOXGATE_MQTT_URL).
 * Device authentication and the topic ACL are then the broker's job (see docs/external-broker.md); the
 * gateway only publishes its retained state, with `offline` as its will, and listens.
 */
import { randomUUID } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { createTopics } from '../../protocol/index.ts';
import type { Logger } from '../logger.ts';
import { checkGatewayPublish } from './gateway-publish-guard.ts';
import { GATEWAY_OFFLINE, GATEWAY_ONLINE, topicMatches, type MqttBus, type MqttMessageHandler } from './mqtt-bus.ts';
import {
  EXTERNAL_BROKER_CLOSE_TIMEOUT_MS,
  EXTERNAL_BROKER_CONNECT_TIMEOUT_MS,
  EXTERNAL_BROKER_KEEPALIVE_S,
  EXTERNAL_BROKER_RECONNECT_MS,
} from './transport-config.ts';

export interface ExternalBrokerOptions {
  url: string;
  username?: string;
  password?: string;
  topicPrefix: string;
  logger: Logger;
  clientId?: string;
  connectTimeoutMs?: number;
  reconnectPeriodMs?: number;
  keepaliveSeconds?: number;
  closeTimeoutMs?: number;
}

export interface ExternalBroker extends MqttBus {
  readonly mode: 'external';
}

/** The URL with any password hidden, for logs and errors. */
function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable url)';
  }
}

export async function connectExternalBroker(options: ExternalBrokerOptions): Promise<ExternalBroker> {
  const where = redact(options.url);
  const logger = options.logger.child({ transport: 'mqtt', broker: where });
  const topics = createTopics(options.topicPrefix);
  const stateTopic = topics.gatewayState();
  const handlers = new Map<string, Set<MqttMessageHandler>>();
  const connectTimeout = options.connectTimeoutMs ?? EXTERNAL_BROKER_CONNECT_TIMEOUT_MS;

  const client: MqttClient = mqtt.connect(options.url, {
    username: options.username,
    password: options.password,
    clientId: options.clientId ?? `voxgate-gateway-${randomUUID().slice(0, 8)}`,
    protocolVersion: 4,
    clean: true,
    keepalive: options.keepaliveSeconds ?? EXTERNAL_BROKER_KEEPALIVE_S,
    connectTimeout,
    reconnectPeriod: options.reconnectPeriodMs ?? EXTERNAL_BROKER_RECONNECT_MS,
    // We resubscribe ourselves on every connect (the session is clean), so one code path does it.
    resubscribe: false,
    // Reply audio is real time: frames that could not be sent while offline are worthless later.
    queueQoSZero: false,
    will: { topic: stateTopic, payload: Buffer.from(GATEWAY_OFFLINE), qos: 1, retain: true },
  });

  const subscribeFilter = (filter: string) =>
    client.subscribeAsync(filter, { qos: 1 }).then(
      (granted) => {
        if (granted.some((g) => g.qos === 128)) logger.error({ filter }, 'broker refused the gateway subscription (check its ACL)');
      },
      (err: unknown) => logger.warn({ err, filter }, 'mqtt subscribe failed'),
    );

  client.on('connect', () => {
    logger.info('connected to external mqtt broker');
    client.publishAsync(stateTopic, GATEWAY_ONLINE, { qos: 1, retain: true }).catch((err: unknown) =>
      logger.warn({ err }, 'could not publish gateway online'),
    );
    for (const filter of handlers.keys()) void subscribeFilter(filter);
  });
  client.on('message', (topic, payload, packet) => {
    for (const [filter, set] of handlers) {
      if (!topicMatches(filter, topic)) continue;
      for (const handler of set) {
        try {
          handler(topic, payload, packet.retain);
        } catch (err) {
          logger.error({ err, topic }, 'mqtt subscriber failed');
        }
      }
    }
  });
  client.on('offline', () => logger.warn('external mqtt broker unreachable; retrying'));
  client.on('error', (err) => logger.warn({ err: err.message }, 'external mqtt broker error'));

  await new Promise<void>((resolve, reject) => {
    const fail = (reason: string) => {
      cleanup();
      client.end(true);
      reject(new Error(`cannot connect to MQTT broker ${where}: ${reason}`));
    };
    const onConnect = () => {
      cleanup();
      resolve();
    };
    const onError = (err: Error & { code?: unknown }) => fail(typeof err.code === 'number' ? `${err.message} (CONNACK ${err.code})` : err.message);
    const timer = setTimeout(() => fail(`no connection within ${connectTimeout} ms`), connectTimeout);
    const cleanup = () => {
      clearTimeout(timer);
      client.off('connect', onConnect);
      client.off('error', onError);
    };
    client.on('connect', onConnect);
    client.on('error', onError);
  });

  let closed = false;
  return {
    mode: 'external',
    async publish(topic, payload, { qos, retain = false }) {
      try {
        checkGatewayPublish(topics.prefix, topic); // the gateway login may write the whole prefix
      } catch (err) {
        logger.warn({ err: (err as Error).message }, 'gateway publish refused');
        throw err;
      }
      // QoS 0 while disconnected is simply lost, as QoS 0 promises; QoS 1 is queued by mqtt.js.
      if (qos === 0 && !client.connected) return;
      await client.publishAsync(topic, typeof payload === 'string' ? payload : Buffer.from(payload), { qos, retain });
    },
    async subscribe(filter, handler) {
      let set = handlers.get(filter);
      if (!set) {
        set = new Set();
        handlers.set(filter, set);
        if (client.connected) await subscribeFilter(filter);
      }
      set.add(handler);
      return () => {
        const current = handlers.get(filter);
        if (!current?.delete(handler) || current.size > 0) return;
        handlers.delete(filter);
        if (client.connected) client.unsubscribeAsync(filter).catch(() => {});
      };
    },
    // The external broker does not tell us about device connections; devices' wills do.
    onDeviceDisconnect() {
      return () => {};
    },
    disconnectDevice(deviceId) {
      logger.debug({ device: deviceId }, 'cannot drop a device connection on an external broker');
    },
    isConnected: () => !closed && client.connected,
    async close() {
      if (closed) return;
      closed = true;
      if (client.connected) {
        // A clean disconnect does not fire the will, so say offline ourselves.
        const offline = client.publishAsync(stateTopic, GATEWAY_OFFLINE, { qos: 1, retain: true });
        const timeout = new Promise((resolve) => setTimeout(resolve, options.closeTimeoutMs ?? EXTERNAL_BROKER_CLOSE_TIMEOUT_MS).unref());
        await Promise.race([offline, timeout]).catch((err: unknown) => logger.warn({ err }, 'could not publish gateway offline'));
      }
      await client.endAsync(!client.connected);
      logger.info('disconnected from external mqtt broker');
    },
  };
}
