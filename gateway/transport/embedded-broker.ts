/**
 * The embedded MQTT broker (aedes 1.x), the default MQTT mode (docs/protocol.md §1.2). It owns
 * device authentication (username = device id, password = token) and the topic ACL, and serves
 * the gateway's own publishes and subscriptions in-process (no TCP client for the gateway).
 * Direct logins (stock xiaozhi firmware, direct-login.ts) are asked first and kept apart.
 */
import net from 'node:net';
import { Aedes, type AedesPublishPacket, type AuthenticateError, type Client } from 'aedes';
import { createTopics } from '../../protocol/index.ts';
import type { Logger } from '../logger.ts';
import { checkDeviceCredentials, type AuthenticateDevice } from './auth.ts';
import { plainAddress, type AuthenticateDirect, type DirectClient } from './direct-login.ts';
import { checkGatewayPublish } from './gateway-publish-guard.ts';
import { GATEWAY_OFFLINE, GATEWAY_ONLINE, type MqttBus, type MqttPublishOptions, type Unsubscribe } from './mqtt-bus.ts';
import { guardMqttPacketSize } from './mqtt-packet-size-guard.ts';
import { MAX_MQTT_PACKET_BYTES, MQTT_CONNECT_TIMEOUT_MS } from './transport-config.ts';

/** CONNACK return codes of MQTT 3.1.1 §3.2.2.3 that we answer. */
const CONNACK = { serverUnavailable: 3, badUsernameOrPassword: 4, notAuthorized: 5 } as const;

/** A non-device MQTT account (e.g. a later Home Assistant login) with its own ACL. */
export interface ServiceAccount {
  readonly name: string;
  mayPublish(topic: string): boolean;
  maySubscribe(filter: string): boolean;
}

/** Hook for service accounts: returns the account for a valid pair, null when the pair is not a service login (device auth then applies). */
export type AuthenticateService = (username: string, password: string) => ServiceAccount | null;

export interface EmbeddedBrokerOptions {
  host: string;
  /** 0 picks a free port; the bound one is `broker.port`. */
  port: number;
  topicPrefix: string;
  authenticate: AuthenticateDevice;
  authenticateService?: AuthenticateService;
  /** Logins another room serves itself (direct-login.ts); asked before devices and services. */
  authenticateDirect?: AuthenticateDirect;
  logger: Logger;
  maxPacketBytes?: number;
  connectTimeoutMs?: number;
}

export interface EmbeddedBroker extends MqttBus {
  readonly mode: 'embedded';
  readonly host: string;
  /** The port actually bound. */
  readonly port: number;
  /** Closes every connection logged in as this service account (removed, or its token rotated). */
  disconnectService(name: string): void;
}

/** The part of aedes-persistence (untyped on the broker) that holds retained messages. */
interface RetainedStore {
  createRetainedStream(pattern: string): AsyncIterable<unknown>;
}

/** Who a connection is, and how often it was refused (logged once per connection, so a misbehaving client cannot flood the log). */
type Principal = ({ kind: 'device'; deviceId: string } | { kind: 'service'; account: ServiceAccount } | { kind: 'direct'; handler: DirectClient }) & {
  refusedPublishes: number;
  refusedSubscriptions: number;
};

const who = (principal: Principal | undefined) =>
  principal?.kind === 'device'
    ? { device: principal.deviceId }
    : principal?.kind === 'service'
      ? { service: principal.account.name }
      : principal
        ? { direct: principal.handler.name }
        : { client: 'unknown' };

/**
 * A copy in memory of its own. Small Buffers are views on a shared 8 KB pool slab, and what the
 * broker keeps for good (retained messages, wills, CONNECT packets) would keep whole slabs alive.
 */
function ownBytes(payload: string | Uint8Array): Buffer {
  const bytes = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const own = Buffer.allocUnsafeSlow(bytes.byteLength);
  own.set(bytes);
  return own;
}

function connackError(returnCode: number, message: string): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}

export async function startEmbeddedBroker(options: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const logger = options.logger.child({ transport: 'mqtt', broker: 'embedded' });
  const topics = createTopics(options.topicPrefix);
  const principals = new WeakMap<Client, Principal>();
  /** The one live connection per device; a newer one replaces it. */
  const currentClient = new Map<string, Client>();
  const endReasons = new WeakMap<Client, string>();
  /** Live connections of each service account, so a removed account can be shown the door. */
  const serviceClients = new Map<string, Set<Client>>();
  const disconnectListeners = new Set<(deviceId: string, reason: string) => void>();
  const sockets = new Set<net.Socket>();

  const broker = await Aedes.createBroker({ connectTimeout: options.connectTimeoutMs ?? MQTT_CONNECT_TIMEOUT_MS });
  /** Refused publishes are re-addressed here and emptied: a `$` topic no device may subscribe to and no leading wildcard matches. */
  const refusedTopic = `$SYS/${broker.id}/voxgate/refused`;

  // aedes keeps each connection's CONNECT packet (the parser's settings, the stored will) as long
  // as the connection lives. Its password and will payload are views on the socket's first read:
  // given memory of their own, that read (a few KB per device) is freed at once.
  broker.preConnect = (_client, packet, done) => {
    if (packet.password) packet.password = ownBytes(packet.password);
    if (packet.will?.payload) packet.will.payload = ownBytes(packet.will.payload);
    done(null, true);
  };

  broker.authenticate = (client, username, password, done) => {
    const user = username ?? '';
    const secret = password?.toString('utf8') ?? '';
    if (!user || !secret) return done(connackError(CONNACK.badUsernameOrPassword, 'credentials required'), null);
    // ── direct logins (direct-login.ts): their own credentials, no device or service rights.
    let direct: ReturnType<AuthenticateDirect> = null;
    try {
      direct = options.authenticateDirect?.(client.id ?? '', user, secret) ?? null;
    } catch (err) {
      logger.error({ err }, 'mqtt connect refused: direct login check failed');
      return done(connackError(CONNACK.serverUnavailable, 'credential check failed'), null);
    }
    if (direct && 'refused' in direct) return done(connackError(direct.refused, 'refused'), null);
    if (direct) {
      principals.set(client, { kind: 'direct', handler: direct, refusedPublishes: 0, refusedSubscriptions: 0 });
      return done(null, true);
    }
    // ──
    const account = options.authenticateService?.(user, secret) ?? null;
    if (account) {
      principals.set(client, { kind: 'service', account, refusedPublishes: 0, refusedSubscriptions: 0 });
      return done(null, true);
    }
    const { verdict, error } = checkDeviceCredentials(options.authenticate, user, secret);
    if (verdict === 'ok') {
      principals.set(client, { kind: 'device', deviceId: user, refusedPublishes: 0, refusedSubscriptions: 0 });
      return done(null, true);
    }
    const remote = (client.conn as net.Socket).remoteAddress;
    if (verdict === 'error') {
      logger.error({ err: error, device: user.slice(0, 64) }, 'mqtt connect refused: credential check failed');
      return done(connackError(CONNACK.serverUnavailable, 'credential check failed'), null);
    }
    logger.warn({ remote, device: user.slice(0, 64) }, 'mqtt connect refused: bad credentials');
    const code = verdict === 'not_authorized' ? CONNACK.notAuthorized : CONNACK.badUsernameOrPassword;
    return done(connackError(code, 'refused'), null);
  };

  // MQTT 3.1.1 §3.3.5 lets a server either acknowledge an unauthorized PUBLISH or close the
  // connection. aedes closes it when authorizePublish fails; we acknowledge and drop instead, so a
  // device with one bad topic keeps its session. aedes lets this hook rewrite the packet.
  /** Re-addresses a publish nobody may see and empties it: aedes then delivers it to no one. */
  const discard = (packet: { topic: string; retain: boolean; payload: Buffer | string }) => {
    packet.topic = refusedTopic;
    packet.retain = false;
    packet.payload = Buffer.alloc(0);
  };

  broker.authorizePublish = (client, packet, done) => {
    const principal = client ? principals.get(client) : undefined;
    if (principal?.kind === 'direct' && packet.topic === principal.handler.publishTopic) {
      // Its handler's alone, never onto the bus.
      try {
        principal.handler.received(Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload));
      } catch (err) {
        logger.error({ err, ...who(principal) }, 'direct client handler failed on a publish');
      }
      discard(packet);
      return done(null);
    }
    const allowed =
      principal?.kind === 'device'
        ? topics.devicePublishAllowed(principal.deviceId, packet.topic)
        : principal?.kind === 'service' && principal.account.mayPublish(packet.topic);
    if (allowed) {
      // A device has nothing to retain: a stored uplink would be replayed as if it were new.
      if (principal?.kind === 'device') packet.retain = false;
      return done(null);
    }
    if (!principal || principal.refusedPublishes++ === 0) {
      logger.warn({ ...who(principal), topic: packet.topic.slice(0, 200) }, 'mqtt publish refused by ACL (dropped)');
    }
    discard(packet);
    done(null);
  };

  broker.authorizeSubscribe = (client, subscription, done) => {
    const principal = principals.get(client);
    const allowed =
      principal?.kind === 'device'
        ? topics.deviceSubscribeAllowed(principal.deviceId, subscription.topic)
        : principal?.kind === 'service' && principal.account.maySubscribe(subscription.topic);
    if (allowed) return done(null, subscription);
    if (!principal || principal.refusedSubscriptions++ === 0) {
      logger.warn({ ...who(principal), filter: subscription.topic.slice(0, 200) }, 'mqtt subscription refused by ACL');
    }
    done(null, null); // SUBACK 0x80
  };

  const notifyDisconnect = (deviceId: string, reason: string) => {
    for (const listener of disconnectListeners) {
      try {
        listener(deviceId, reason);
      } catch (err) {
        logger.error({ err, device: deviceId }, 'device disconnect listener failed');
      }
    }
  };

  broker.on('clientReady', (client) => {
    const principal = principals.get(client);
    if (principal?.kind === 'direct') return directReady(client, principal.handler);
    if (principal?.kind === 'service') {
      const name = principal.account.name;
      serviceClients.set(name, (serviceClients.get(name) ?? new Set()).add(client));
      return;
    }
    if (principal?.kind !== 'device') return;
    const previous = currentClient.get(principal.deviceId);
    currentClient.set(principal.deviceId, client);
    if (previous && previous !== client) {
      // Report before the new connection's first message is handled, so its session starts fresh.
      notifyDisconnect(principal.deviceId, 'replaced by a new connection');
      previous.close();
    }
    logger.info({ device: principal.deviceId }, 'mqtt device connected');
  });
  broker.on('keepaliveTimeout', (client) => {
    endReasons.set(client, 'keepalive timeout');
  });
  broker.on('clientError', (client, err) => {
    if (!endReasons.has(client)) endReasons.set(client, `error: ${err.message}`);
  });
  broker.on('clientDisconnect', (client) => {
    const principal = principals.get(client);
    if (principal?.kind === 'direct') return directGone(client, principal.handler);
    if (principal?.kind === 'service') {
      const set = serviceClients.get(principal.account.name);
      if (set?.delete(client) && set.size === 0) serviceClients.delete(principal.account.name);
      return;
    }
    if (principal?.kind !== 'device' || currentClient.get(principal.deviceId) !== client) return;
    currentClient.delete(principal.deviceId);
    const reason = endReasons.get(client) ?? 'connection closed';
    logger.info({ device: principal.deviceId, reason }, 'mqtt device disconnected');
    notifyDisconnect(principal.deviceId, reason);
  });

  // ── direct clients: their handler hears of the connection and writes onto it (client.publish).
  const directReady = (client: Client, handler: DirectClient) => {
    const socket = client.conn as net.Socket;
    // Its control messages must not wait for Nagle (up to a delayed ACK, ~40 ms) while the
    // audio they announce goes straight out by UDP.
    socket.setNoDelay?.(true);
    try {
      handler.connected({
        remoteAddress: plainAddress(socket.remoteAddress),
        localAddress: plainAddress(socket.localAddress),
        push(topic, payload, written) {
          const body = typeof payload === 'string' ? Buffer.from(payload) : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
          client.publish({ cmd: 'publish', topic, payload: body, qos: 0, retain: false, dup: false }, (err?: Error | null) => written?.(err ?? undefined));
        },
        close: () => client.close(),
      });
    } catch (err) {
      logger.error({ err, direct: handler.name }, 'direct client handler failed on connect');
      client.close();
    }
  };
  const directGone = (client: Client, handler: DirectClient) => {
    try {
      handler.disconnected(endReasons.get(client) ?? 'connection closed');
    } catch (err) {
      logger.error({ err, direct: handler.name }, 'direct client handler failed on disconnect');
    }
  };
  // ──

  const maxPacketBytes = options.maxPacketBytes ?? MAX_MQTT_PACKET_BYTES;
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    broker.handle(socket);
    guardMqttPacketSize(socket, maxPacketBytes, (reason) => {
      logger.warn({ remote: socket.remoteAddress, reason }, 'mqtt connection dropped: packet too large');
      socket.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => logger.error({ err }, 'mqtt server error'));
  const address = server.address() as net.AddressInfo;

  const publishNow = (topic: string, payload: string | Uint8Array, { qos, retain = false }: MqttPublishOptions) =>
    new Promise<void>((resolve, reject) => {
      // A retained message is stored as published: it gets memory of its own.
      const body = retain
        ? ownBytes(payload)
        : typeof payload === 'string'
          ? Buffer.from(payload)
          : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
      broker.publish({ cmd: 'publish', topic, payload: body, qos, retain, dup: false }, (err) => (err ? reject(err) : resolve()));
    });
  // One at a time per device: aedes numbers each publish and a client drops a packet numbered
  // below one it already got (its dedupe), while a QoS 1 publish takes an extra async step
  // (offline enqueue). A QoS 0 reply frame published right after `tts start` would overtake it
  // and the device would silently lose `tts start`. aedes calls back once the packet is written
  // (after a drain when the socket is full), so per device: a stalled device delays only itself.
  const publishTails = new Map<string, Promise<void>>();
  const publish = (topic: string, payload: string | Uint8Array, options: MqttPublishOptions): Promise<void> => {
    try {
      checkGatewayPublish(topics.prefix, topic); // aedes' publish() skips authorizePublish
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'gateway publish refused');
      return Promise.reject(err);
    }
    const key = topics.parse(topic)?.deviceId ?? '';
    const next = (publishTails.get(key) ?? Promise.resolve()).then(() => publishNow(topic, payload, options));
    const tail = next.catch(() => {});
    publishTails.set(key, tail);
    void tail.then(() => publishTails.get(key) === tail && publishTails.delete(key));
    return next;
  };

  await publish(topics.gatewayState(), GATEWAY_ONLINE, { qos: 1, retain: true });
  logger.info({ host: address.address, port: address.port }, 'embedded mqtt broker listening');

  let closed = false;
  return {
    mode: 'embedded',
    host: address.address,
    port: address.port,
    publish,
    async subscribe(filter, handler) {
      const leadingWildcard = filter.startsWith('+') || filter.startsWith('#');
      const hand = (topic: string, payload: Buffer | string | Uint8Array, retained: boolean) => {
        // MQTT-4.7.2-1 for in-process subscribers too (aedes applies it only to its clients).
        if (leadingWildcard && topic.startsWith('$')) return;
        try {
          handler(topic, Buffer.isBuffer(payload) ? payload : Buffer.from(payload), retained);
        } catch (err) {
          logger.error({ err, topic }, 'mqtt subscriber failed');
        }
      };
      const deliver = (packet: AedesPublishPacket, callback: () => void) => {
        hand(packet.topic, packet.payload, false);
        callback();
      };
      await new Promise<void>((resolve) => broker.subscribe(filter, deliver, () => resolve()));
      // aedes replays stored retained messages only to its network clients; replay them here too,
      // as a broker does on SUBSCRIBE (e.g. Home Assistant discovery configs published earlier).
      const stored = (broker as unknown as { persistence: RetainedStore }).persistence.createRetainedStream(filter);
      for await (const packet of stored as AsyncIterable<{ topic: string; payload: Buffer }>) hand(packet.topic, packet.payload, true);
      return () => broker.unsubscribe(filter, deliver, () => {});
    },
    onDeviceDisconnect(listener) {
      disconnectListeners.add(listener);
      return () => disconnectListeners.delete(listener);
    },
    disconnectDevice(deviceId) {
      const client = currentClient.get(deviceId);
      if (!client) return;
      currentClient.delete(deviceId); // its disconnect is ours, not news
      client.close();
    },
    isConnected: () => !closed,
    disconnectService(name) {
      const clients = serviceClients.get(name);
      if (!clients) return;
      serviceClients.delete(name);
      logger.info({ service: name, connections: clients.size }, 'closing the connections of a changed service account');
      for (const client of clients) client.close();
    },
    async close() {
      if (closed) return;
      closed = true;
      await publish(topics.gatewayState(), GATEWAY_OFFLINE, { qos: 1, retain: true }).catch((err: unknown) =>
        logger.warn({ err }, 'could not publish gateway offline'),
      );
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      logger.info('embedded mqtt broker stopped');
    },
  };
}
