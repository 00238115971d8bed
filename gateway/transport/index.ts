/**
 * The transports, and the one choice the composition root makes about them: embed a broker
 * or connect to the one at `mqttUrl`.
 */
import type { Logger } from '../logger.ts';
import type { AuthenticateDevice } from './auth.ts';
import type { AuthenticateDirect } from './direct-login.ts';
import { startEmbeddedBroker, type AuthenticateService } from './embedded-broker.ts';
import { connectExternalBroker } from './external-broker.ts';
import type { MqttBus } from './mqtt-bus.ts';
import type { TransportConfig } from './transport-config.ts';

export * from './auth.ts';
export * from './direct-login.ts';
export * from './mqtt-bus.ts';
export * from './transport-config.ts';
export { startEmbeddedBroker, type EmbeddedBroker, type EmbeddedBrokerOptions, type ServiceAccount, type AuthenticateService } from './embedded-broker.ts';
export { connectExternalBroker, type ExternalBroker, type ExternalBrokerOptions } from './external-broker.ts';
export * from './mosquitto-accounts.ts';
export { startMqttDeviceTransport, type MqttDeviceTransport, type MqttDeviceTransportOptions } from './mqtt-device-transport.ts';
export { attachWebSocketTransport, DEFAULT_WEBSOCKET_PATH, type WebSocketTransport, type WebSocketTransportOptions } from './websocket-transport.ts';

/** The config keys the MQTT side reads (top-level keys of the gateway's Config, and its `transport` section). */
export interface MqttBusConfig {
  host: string;
  mqttPort: number;
  /** When set, connect to this broker instead of embedding one. */
  mqttUrl?: string | undefined;
  mqttUsername?: string | undefined;
  mqttPassword?: string | undefined;
  mqttTopicPrefix: string;
  transport: TransportConfig;
}

export interface MqttBusDependencies {
  authenticate: AuthenticateDevice;
  /** Service logins (e.g. Home Assistant) on the embedded broker; ignored with an external broker. */
  authenticateService?: AuthenticateService;
  /** Direct logins (stock xiaozhi firmware over MQTT) on the embedded broker; ignored with an external broker. */
  authenticateDirect?: AuthenticateDirect;
  logger: Logger;
}

/** The embedded broker on `host:mqttPort`, or a client of `mqttUrl` when it is set. */
export function startMqttBus(config: MqttBusConfig, deps: MqttBusDependencies): Promise<MqttBus> {
  const t = config.transport;
  if (config.mqttUrl) {
    return connectExternalBroker({
      url: config.mqttUrl,
      username: config.mqttUsername,
      password: config.mqttPassword,
      topicPrefix: config.mqttTopicPrefix,
      logger: deps.logger,
      connectTimeoutMs: t.externalConnectTimeoutMs,
      reconnectPeriodMs: t.externalReconnectMs,
      keepaliveSeconds: t.externalKeepaliveSeconds,
      closeTimeoutMs: t.externalCloseTimeoutMs,
    });
  }
  return startEmbeddedBroker({
    host: config.host,
    port: config.mqttPort,
    topicPrefix: config.mqttTopicPrefix,
    authenticate: deps.authenticate,
    authenticateService: deps.authenticateService,
    authenticateDirect: deps.authenticateDirect,
    logger: deps.logger,
    maxPacketBytes: t.mqttMaxPacketBytes,
    connectTimeoutMs: t.mqttConnectTimeoutMs,
  });
}
