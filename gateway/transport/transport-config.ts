/**
 * Limits and timeouts of the transports: each a named constant with its reason, and the
 * `transport` section of the gateway config that overrides them (wired into config.ts).
 * Pure (zod only) so config.ts can import it without pulling in ws or aedes.
 */
import { z } from 'zod';

/** Hard cap on one WebSocket frame, far above any legal audio packet or control message; the session enforces the real limits with error codes. */
export const MAX_WEBSOCKET_PAYLOAD_BYTES = 64 * 1024;
/** Ping this often; a client that has not answered the previous ping is terminated, so a dead peer is gone within two intervals. */
export const WEBSOCKET_HEARTBEAT_INTERVAL_MS = 30_000;
/** On shutdown, clients get this long to finish the close handshake before their sockets are destroyed. */
export const WEBSOCKET_CLOSE_GRACE_MS = 2_000;
/** Largest MQTT packet accepted, far above a legal audio frame or control message; larger ones end the connection before they are buffered. */
export const MAX_MQTT_PACKET_BYTES = 64 * 1024;
/** A socket that has not sent CONNECT by then is dropped: the embedded broker's pre-authentication deadline. */
export const MQTT_CONNECT_TIMEOUT_MS = 10_000;
/** The first connection to an external broker must succeed within this, or start fails with a clear error instead of hanging. */
export const EXTERNAL_BROKER_CONNECT_TIMEOUT_MS = 10_000;
/** Retry interval after the external broker goes away. */
export const EXTERNAL_BROKER_RECONNECT_MS = 2_000;
/** Keepalive of the gateway's own connection to an external broker: it publishes our will within 1.5× this. */
export const EXTERNAL_BROKER_KEEPALIVE_S = 30;
/** On stop, wait at most this long for the external broker to take the retained `offline`. */
export const EXTERNAL_BROKER_CLOSE_TIMEOUT_MS = 2_000;

const positiveInt = z.coerce.number().int().positive();

export const TransportSchema = z.object({
  wsMaxPayloadBytes: positiveInt.default(MAX_WEBSOCKET_PAYLOAD_BYTES),
  wsHeartbeatIntervalMs: positiveInt.default(WEBSOCKET_HEARTBEAT_INTERVAL_MS),
  wsCloseGraceMs: positiveInt.default(WEBSOCKET_CLOSE_GRACE_MS),
  mqttMaxPacketBytes: positiveInt.default(MAX_MQTT_PACKET_BYTES),
  mqttConnectTimeoutMs: positiveInt.default(MQTT_CONNECT_TIMEOUT_MS),
  externalConnectTimeoutMs: positiveInt.default(EXTERNAL_BROKER_CONNECT_TIMEOUT_MS),
  externalReconnectMs: positiveInt.default(EXTERNAL_BROKER_RECONNECT_MS),
  externalKeepaliveSeconds: positiveInt.default(EXTERNAL_BROKER_KEEPALIVE_S),
  externalCloseTimeoutMs: positiveInt.default(EXTERNAL_BROKER_CLOSE_TIMEOUT_MS),
  // An external Mosquitto's accounts kept in step with the registered devices (docs/external-broker.md):
  // the password file the gateway rewrites on every device change, the logins it starts with,
  // and Mosquitto's pid file (sent SIGHUP to re-read it).
  mosquittoPasswordFile: z.string().min(1).optional(),
  mosquittoIncludeFile: z.string().min(1).optional(),
  mosquittoPidFile: z.string().min(1).optional(),
});
export type TransportConfig = z.infer<typeof TransportSchema>;

export const TRANSPORT_ENV_VARS: Record<string, string> = {
  VOXGATE_WS_MAX_PAYLOAD_BYTES: 'transport.wsMaxPayloadBytes',
  VOXGATE_WS_HEARTBEAT_MS: 'transport.wsHeartbeatIntervalMs',
  VOXGATE_MQTT_MAX_PACKET_BYTES: 'transport.mqttMaxPacketBytes',
  VOXGATE_MQTT_CONNECT_TIMEOUT_MS: 'transport.mqttConnectTimeoutMs',
  VOXGATE_MQTT_EXTERNAL_CONNECT_TIMEOUT_MS: 'transport.externalConnectTimeoutMs',
  VOXGATE_MQTT_EXTERNAL_RECONNECT_MS: 'transport.externalReconnectMs',
  VOXGATE_MQTT_EXTERNAL_KEEPALIVE_S: 'transport.externalKeepaliveSeconds',
  VOXGATE_MOSQUITTO_PASSWORD_FILE: 'transport.mosquittoPasswordFile',
  VOXGATE_MOSQUITTO_INCLUDE_FILE: 'transport.mosquittoIncludeFile',
  VOXGATE_MOSQUITTO_PID_FILE: 'transport.mosquittoPidFile',
};
