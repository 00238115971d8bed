/**
 * The MQTT + UDP transport of stock xiaozhi firmware, device side (main/protocols/mqtt_protocol.cc):
 * - MQTT with the OTA answer's client_id, username and password, the endpoint's plain port, its
 *   keepalive; JSON published to publish_topic at QoS 0. It never subscribes: it takes whatever
 *   PUBLISH the server writes onto its connection.
 * - The server hello's `udp {server, port, key, nonce}` opens the audio channel: datagrams as in
 *   protocol/xiaozhi/udp-packet.ts with its own sequence from 1 and timestamp 0, and the
 *   firmware's checks on what arrives (size = 16 + length, type 1, sequence above the last;
 *   anything else is dropped and reported as invalid). A hello without a usable `udp` block is
 *   ignored, as the firmware does (it then times out).
 * - The gateway's `goodbye` with this channel's session_id closes the UDP side; MQTT stays.
 *   Closing sends `goodbye` first (CloseAudioChannel(true)).
 * Messages are handled one at a time, in arrival order: the hello waits for the UDP socket.
 */
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import { readUdpHeader, sealUdpPacket, udpFramingProblem, UDP_HEADER_BYTES, UDP_KEY_BYTES, XiaozhiUdpCipher } from '../../protocol/xiaozhi/index.ts';
import { ConnectError, once } from '../connection.ts';
import type { MqttCredentials } from './ota-client.ts';
import type { XiaozhiChannelHandlers, XiaozhiSimChannel } from './sim-channel.ts';

export interface XiaozhiMqttOptions {
  credentials: MqttCredentials;
  connectTimeoutMs: number;
  closeTimeoutMs: number;
}

export interface UdpChannelStats {
  sent: number;
  received: number;
  /** Datagrams the firmware would have dropped. */
  dropped: number;
}

export interface XiaozhiMqttChannel extends XiaozhiSimChannel {
  /** The firmware's CloseAudioChannel(true): `goodbye`, UDP closed; the MQTT connection stays. */
  closeAudioChannel(): Promise<void>;
  readonly audioChannelOpen: boolean;
  readonly udpStats: Readonly<UdpChannelStats>;
  /** The server hello's udp block in use (for tests that forge datagrams). */
  readonly udpParams: { server: string; port: number; key: Buffer; nonce: Buffer } | undefined;
  /** The datagram sendAudio would send for `packet`, advancing the sequence, not sent (tests send it twice: a replay). */
  sealNext(packet: Uint8Array): Buffer | undefined;
}

interface AudioChannel {
  sessionId: string;
  socket: dgram.Socket;
  cipher: XiaozhiUdpCipher;
  nonce: Buffer;
  key: Buffer;
  server: string;
  port: number;
  localSequence: number;
  remoteSequence: number;
}

const CONNACK_UNAUTHORIZED = new Set([4, 5]);
const HEX_16 = /^[0-9a-fA-F]{32}$/;

/** The hello's udp block as ParseServerHello takes it, or why it cannot. */
function readUdpBlock(hello: Record<string, unknown>): { server: string; port: number; key: Buffer; nonce: Buffer } | string {
  if (hello.transport !== 'udp') return `transport ${JSON.stringify(hello.transport)}, not "udp"`;
  const udp = hello.udp as Record<string, unknown> | undefined;
  if (typeof udp !== 'object' || udp === null) return 'no udp block';
  const { server, port, key, nonce } = udp;
  if (typeof server !== 'string' || typeof port !== 'number' || port <= 0 || port > 65_535) return 'udp.server or udp.port invalid';
  if (typeof key !== 'string' || typeof nonce !== 'string' || !HEX_16.test(key) || !HEX_16.test(nonce)) return `udp.key and udp.nonce must be ${UDP_KEY_BYTES} bytes of hex`;
  return { server, port, key: Buffer.from(key, 'hex'), nonce: Buffer.from(nonce, 'hex') };
}

export function connectXiaozhiMqtt(options: XiaozhiMqttOptions, handlers: XiaozhiChannelHandlers): Promise<XiaozhiMqttChannel> {
  const c = options.credentials;
  const [host, port] = [c.endpoint.slice(0, c.endpoint.indexOf(':')), Number(c.endpoint.slice(c.endpoint.indexOf(':') + 1))];
  const url = `mqtt://${host}:${port}`;
  let audio: AudioChannel | undefined;
  const stats: UdpChannelStats = { sent: 0, received: 0, dropped: 0 };
  let queue = Promise.resolve();

  const closeUdp = () => {
    const open = audio;
    audio = undefined;
    open?.socket.close();
  };

  const openUdp = async (sessionId: string, params: { server: string; port: number; key: Buffer; nonce: Buffer }): Promise<void> => {
    closeUdp();
    const socket = dgram.createSocket(isIPv6(params.server) ? 'udp6' : 'udp4');
    const channel: AudioChannel = { sessionId, socket, cipher: new XiaozhiUdpCipher(params.key), ...params, localSequence: 0, remoteSequence: 0 };
    socket.on('error', () => {});
    socket.on('message', (datagram) => {
      if (audio !== channel) return;
      stats.received++;
      const problem = udpFramingProblem(datagram);
      const header = problem ? undefined : readUdpHeader(datagram);
      if (!header || header.sequence <= channel.remoteSequence) {
        stats.dropped++;
        return handlers.invalid(problem ? `udp datagram: ${problem}` : `udp datagram with sequence ${header!.sequence} after ${channel.remoteSequence}`);
      }
      channel.remoteSequence = header.sequence;
      const payload = Buffer.from(datagram.subarray(UDP_HEADER_BYTES));
      channel.cipher.apply(datagram.subarray(0, UDP_HEADER_BYTES), payload, payload);
      handlers.audio(payload);
    });
    // Connected like the firmware's socket: only the server's datagrams arrive.
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect(params.port, params.server, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    audio = channel;
  };

  return new Promise((resolve, reject) => {
    const client: MqttClient = mqtt.connect(url, {
      protocolVersion: 4,
      clientId: c.client_id,
      username: c.username,
      password: c.password,
      keepalive: c.keepalive,
      clean: true,
      connectTimeout: options.connectTimeoutMs,
      reconnectPeriod: 0, // the firmware retries after 60 s; a simulator reports the loss instead
      queueQoSZero: false,
    });
    let opened = false;
    const fail = once((error: ConnectError) => {
      clearTimeout(timer);
      client.end(true);
      reject(error);
    });
    const timer = setTimeout(() => fail(new ConnectError('timeout', `no MQTT connection to ${url} within ${options.connectTimeoutMs} ms`)), options.connectTimeoutMs);
    const reportClosed = once((reason: string) => {
      closeUdp();
      handlers.closed(reason);
    });
    client.on('error', (error: Error & { code?: string | number }) => {
      if (opened) return;
      if (typeof error.code === 'number' && CONNACK_UNAUTHORIZED.has(error.code)) fail(new ConnectError('unauthorized', `MQTT connection refused: ${error.message} (CONNACK ${error.code})`));
      else fail(new ConnectError(error.code === 'ECONNREFUSED' ? 'refused' : 'failed', error.message));
    });
    client.on('close', () => {
      if (opened) reportClosed('mqtt connection closed');
      else fail(new ConnectError('failed', `MQTT connection to ${url} closed before CONNACK`));
    });
    client.once('connect', () => {
      opened = true;
      clearTimeout(timer);
      resolve(channel);
    });
    client.on('message', (_topic, payload) => {
      const text = payload.toString('utf8');
      queue = queue.then(() => receive(text)).catch((error: Error) => handlers.invalid(`udp channel: ${error.message}`));
    });

    async function receive(text: string): Promise<void> {
      let message: Record<string, unknown> | undefined;
      try {
        const value = JSON.parse(text) as unknown;
        if (typeof value === 'object' && value !== null && !Array.isArray(value)) message = value as Record<string, unknown>;
      } catch {
        // handed on as is: the device reports it
      }
      if (message?.type === 'hello') {
        const params = readUdpBlock(message);
        if (typeof params === 'string') return handlers.invalid(`server hello ignored (the firmware would time out): ${params}`);
        if (typeof message.session_id !== 'string') return handlers.invalid('server hello without session_id');
        await openUdp(message.session_id, params);
      } else if (message?.type === 'goodbye') {
        // mqtt_protocol.cc: only a goodbye for this session closes the channel; no goodbye back.
        if (audio && message.session_id === audio.sessionId) {
          closeUdp();
          handlers.channelClosed?.('goodbye from the gateway');
        }
        return;
      }
      handlers.json(text);
    }

    const publish = (message: Record<string, unknown>) =>
      new Promise<void>((done, failed) => {
        if (!client.connected) return failed(new Error('mqtt client is not connected'));
        client.publish(c.publish_topic, JSON.stringify(message), { qos: 0 }, (error) => (error ? failed(error) : done()));
      });

    const channel: XiaozhiMqttChannel = {
      transport: 'mqtt',
      get audioChannelOpen() {
        return audio !== undefined;
      },
      udpStats: stats,
      get udpParams() {
        return audio ? { server: audio.server, port: audio.port, key: audio.key, nonce: audio.nonce } : undefined;
      },
      sendJson: publish,
      sealNext(packet) {
        const a = audio;
        if (!a) return undefined;
        a.localSequence++;
        return sealUdpPacket(a.cipher, a.nonce, packet, 0, a.localSequence);
      },
      sendAudio(packet) {
        const datagram = channel.sealNext(packet);
        if (!datagram) return;
        audio!.socket.send(datagram);
        stats.sent++;
      },
      sendRawBinary(datagram) {
        audio?.socket.send(datagram);
      },
      async closeAudioChannel() {
        if (!audio) return;
        const sessionId = audio.sessionId;
        closeUdp();
        await publish({ session_id: sessionId, type: 'goodbye' }).catch(() => {});
      },
      close() {
        return new Promise<void>((done) => {
          void channel.closeAudioChannel().then(() => {
            if (client.disconnected || client.disconnecting) return done();
            const forced = setTimeout(() => client.end(true), options.closeTimeoutMs);
            client.end(false, {}, () => {
              clearTimeout(forced);
              done();
            });
          });
        });
      },
      drop() {
        closeUdp();
        client.end(true);
      },
    };
  });
}
