/** The MQTT transport of docs/protocol.md §1.2–1.3, device side (MQTT 3.1.1, mqtt.js 5). */
import { randomBytes } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import {
  createTopics,
  decodeAudioFrame,
  encodeAudioFrame,
  FRAME_KIND,
  type DeviceMessage,
  type GoodbyeMessage,
} from '../protocol/index.ts';
import { ConnectError, once, type ConnectOptions, type ConnectionHandlers, type DeviceConnection } from './connection.ts';

/** A wearable pings every 30 s: rare enough for its battery, and the broker notices a lost device within 45 s. */
export const MQTT_KEEPALIVE_S = 30;
/** The will the device leaves on up/ctrl (docs/protocol.md §1.2), so the gateway hears of a lost device at once. */
export const LOST_WILL: GoodbyeMessage = { type: 'goodbye', reason: 'lost' };
/** CONNACK return codes 4 (bad user name or password) and 5 (not authorized). */
const CONNACK_UNAUTHORIZED = new Set([4, 5]);

function connectErrorFrom(error: Error & { code?: string | number }): ConnectError {
  if (typeof error.code === 'number' && CONNACK_UNAUTHORIZED.has(error.code)) {
    return new ConnectError('unauthorized', `MQTT connection refused: ${error.message} (CONNACK ${error.code})`);
  }
  if (error.code === 'ECONNREFUSED') return new ConnectError('refused', `connection refused: ${error.message}`);
  return new ConnectError('failed', error.message);
}

/** Every subscription of a SUBACK must be granted; 0x80 means the broker's ACL refused it. */
function refusedGrant(granted: readonly { qos: number }[]): boolean {
  return granted.some((grant) => (grant.qos & 0x80) !== 0);
}

export function connectMqtt(options: ConnectOptions, handlers: ConnectionHandlers): Promise<DeviceConnection> {
  const topics = createTopics(options.prefix);
  const upCtrl = topics.upCtrl(options.deviceId);
  const upAudio = topics.upAudio(options.deviceId);
  const downCtrl = topics.downCtrl(options.deviceId);
  const downAudio = topics.downAudio(options.deviceId);
  const downAll = `${topics.prefix}/${options.deviceId}/down/#`;

  return new Promise((resolve, reject) => {
    const client: MqttClient = mqtt.connect(options.url, {
      protocolVersion: 4,
      username: options.deviceId,
      password: options.token,
      clientId: `voxgate-sim-${options.deviceId}-${randomBytes(4).toString('hex')}`,
      clean: true,
      keepalive: MQTT_KEEPALIVE_S,
      connectTimeout: options.connectTimeoutMs,
      reconnectPeriod: 0, // a simulated device reports a lost connection instead of hiding it
      queueQoSZero: false,
      will: { topic: upCtrl, payload: Buffer.from(JSON.stringify(LOST_WILL)), qos: 1, retain: false },
    });
    let opened = false;
    const fail = once((error: ConnectError) => {
      clearTimeout(timer);
      client.end(true);
      reject(error);
    });
    const timer = setTimeout(
      () => fail(new ConnectError('timeout', `no MQTT connection to ${options.url} within ${options.connectTimeoutMs} ms`)),
      options.connectTimeoutMs,
    );
    const reportClosed = once(handlers.closed);

    client.on('error', (error) => {
      if (!opened) fail(connectErrorFrom(error));
    });
    client.on('close', () => {
      if (opened) reportClosed('mqtt connection closed');
      else fail(new ConnectError('failed', `MQTT connection to ${options.url} closed before CONNACK`));
    });
    client.once('connect', () => {
      client
        .subscribeAsync(downAll, { qos: 1 })
        .then((granted) => {
          if (refusedGrant(granted)) throw new Error(`subscription to ${downAll} refused`);
          opened = true;
          clearTimeout(timer);
          resolve(connection);
        })
        .catch((error: Error) => fail(new ConnectError('refused', `MQTT subscription to ${downAll} refused: ${error.message}`)));
    });
    client.on('message', (topic, payload) => {
      if (topic === downCtrl) {
        handlers.control(payload.toString('utf8'));
      } else if (topic === downAudio) {
        const decoded = decodeAudioFrame(payload);
        if (!decoded.ok) handlers.invalid(decoded.reason);
        else if (decoded.frame.kind !== FRAME_KIND.reply) handlers.invalid(`down/audio frame of kind ${decoded.frame.kind}, expected ${FRAME_KIND.reply}`);
        else handlers.audio(decoded.frame.payload, { turn: decoded.frame.turn, seq: decoded.frame.seq });
      }
    });

    const connection: DeviceConnection = {
      transport: 'mqtt',
      async sendControl(message: DeviceMessage) {
        if (!client.connected) throw new Error('mqtt client is not connected');
        await client.publishAsync(upCtrl, JSON.stringify(message), { qos: 1 });
      },
      sendAudio(packet, turn, seq) {
        if (!client.connected) return;
        client.publish(upAudio, encodeAudioFrame({ kind: FRAME_KIND.mic, seq, turn, payload: packet }), { qos: 0 });
      },
      close() {
        return new Promise<void>((done) => {
          if (client.disconnected || client.disconnecting) return done();
          const forced = setTimeout(() => client.end(true), options.closeTimeoutMs);
          client.end(false, {}, () => {
            clearTimeout(forced);
            done();
          });
        });
      },
      drop() {
        client.end(true); // destroys the socket without DISCONNECT: the broker publishes the will
      },
    };
  });
}
