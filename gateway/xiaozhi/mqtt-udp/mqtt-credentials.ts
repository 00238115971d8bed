/**
 * The MQTT credentials of stock xiaozhi firmware (docs/xiaozhi.md): what the OTA answer's
 * `mqtt {…}` block hands a device, and how the embedded broker recognises them.
 *
 * - `client_id` `voxgate-xiaozhi-<device id>` and `username` `xiaozhi:<device id>` name the
 *   device; no voxgate device id can contain `:`, and the `voxgate-xiaozhi-` client ids are
 *   reserved (any other login using one is refused), so no other client can take over a
 *   device's connection by reusing its client id (MQTT-3.1.4-2).
 * - `password` is the device's token, fresh in every OTA answer (the previous one stops working),
 *   stored hashed like every token.
 * - `publish_topic` `xiaozhi/<device id>/up` is the only topic the login may publish to.
 * - `endpoint` is always `host:port`: to the firmware a bare host means TLS on 8883
 *   (78/esp-ml307 esp_mqtt.cc), which the embedded broker does not serve.
 * - `keepalive` 240 s is the firmware's own default, sent so that no older value stays in its flash.
 */
import { isValidDeviceId } from '../../../protocol/index.ts';
import type { TransportOffer } from '../ota-answer.ts';

export const XIAOZHI_CLIENT_ID_PREFIX = 'voxgate-xiaozhi-';
export const XIAOZHI_USERNAME_PREFIX = 'xiaozhi:';
export const XIAOZHI_MQTT_KEEPALIVE_S = 240;

export const xiaozhiClientId = (deviceId: string) => `${XIAOZHI_CLIENT_ID_PREFIX}${deviceId}`;
export const xiaozhiUsername = (deviceId: string) => `${XIAOZHI_USERNAME_PREFIX}${deviceId}`;
export const xiaozhiPublishTopic = (deviceId: string) => `xiaozhi/${deviceId}/up`;
/** The topic of what the gateway pushes onto the device's connection (the firmware ignores it). */
export const xiaozhiDownTopic = (deviceId: string) => `xiaozhi/${deviceId}/down`;

export type XiaozhiLogin = { kind: 'xiaozhi'; deviceId: string } | { kind: 'refused'; reason: string } | { kind: 'other' };

/**
 * Whether a CONNECT is a xiaozhi login: `other` when neither its client id nor its user name
 * is of the xiaozhi form, `refused` when they do not name the same valid device id.
 */
export function readXiaozhiLogin(clientId: string, username: string): XiaozhiLogin {
  const byClient = clientId.startsWith(XIAOZHI_CLIENT_ID_PREFIX);
  const byUser = username.startsWith(XIAOZHI_USERNAME_PREFIX);
  if (!byClient && !byUser) return { kind: 'other' };
  if (!byClient || !byUser) return { kind: 'refused', reason: byClient ? 'client id reserved for xiaozhi devices' : 'xiaozhi user name with another client id' };
  const deviceId = username.slice(XIAOZHI_USERNAME_PREFIX.length);
  if (clientId !== xiaozhiClientId(deviceId) || !isValidDeviceId(deviceId)) return { kind: 'refused', reason: 'client id and user name name different devices' };
  return { kind: 'xiaozhi', deviceId };
}

/** The OTA answer's `mqtt` block; `brokerPort()` is the embedded broker's bound port. */
export function mqttOffer(brokerPort: () => number): TransportOffer {
  return (grant, base) => ({
    mqtt: {
      endpoint: `${base.hostname}:${brokerPort()}`,
      client_id: xiaozhiClientId(grant.deviceId),
      username: xiaozhiUsername(grant.deviceId),
      password: grant.token,
      publish_topic: xiaozhiPublishTopic(grant.deviceId),
      keepalive: XIAOZHI_MQTT_KEEPALIVE_S,
    },
  });
}
