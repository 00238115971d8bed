/**
 * The UDP audio channel of stock xiaozhi firmware's MQTT + UDP transport (docs/xiaozhi.md,
 * protocol/xiaozhi/udp-packet.ts): one socket on `VOXGATE_UDP_PORT` for every device; each
 * audio session (one per server hello) has its own ssrc, AES-128 key and sequence counters.
 *
 * An uplink datagram is accepted only when, in this order:
 * 1. it is framed right: ≥ 16 bytes, type 0x01, exactly 16 + payload_len bytes long;
 * 2. its ssrc names a live session;
 * 3. its payload is 1 … 4096 bytes;
 * 4. its sequence is above the last accepted one (replays and reordered stragglers are dropped);
 * 5. it decrypts to a well-formed Opus packet lasting the hello's frame duration (60 ms).
 *    AES-CTR carries no integrity check, so this is what "wrong key" means here: under another
 *    key the payload decrypts to random bytes, which pass this check about 2.4 % of the time
 *    (measured in test/xiaozhi/udp-audio-server.test.ts) and are dropped otherwise.
 * Anything else is dropped, counted, and logged once per session and kind (datagrams that reach
 * no session: at most once a minute per kind). A dropped datagram changes nothing: neither the
 * sequence nor the device's address. The device's address is learned from its latest accepted
 * datagram, so reply audio needs one uplink packet first (the firmware sends audio as soon as it
 * listens); reply audio before that is dropped and counted.
 *
 * The work per packet is a header read, one keystream block run and an XOR on the event loop
 * (microseconds); decoding happens in the session's workers like any other microphone audio.
 */
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import { randomBytes } from 'node:crypto';
import { opusPacketDurationTenthsMs } from '../../../audio/opus-packet.ts';
import {
  sealUdpPacket,
  udpFramingProblem,
  udpNonce,
  UDP_HEADER_BYTES,
  UDP_KEY_BYTES,
  UDP_MAX_PAYLOAD_BYTES,
  XiaozhiUdpCipher,
} from '../../../protocol/xiaozhi/index.ts';
import type { Logger } from '../../logger.ts';
import { LogOnce } from '../../session/log-once.ts';

/** Why a datagram was dropped. */
export type UdpDropReason = 'short' | 'type' | 'length' | 'unknown_session' | 'empty' | 'oversized' | 'replay' | 'undecryptable';
const UNROUTED_LOG_INTERVAL_MS = 60_000;
const WHY: Record<UdpDropReason, string> = {
  short: 'shorter than its 16-byte header',
  type: 'packet type is not 0x01',
  length: 'size is not 16 + payload_len',
  unknown_session: 'its ssrc names no audio session',
  empty: 'no payload',
  oversized: `payload over ${UDP_MAX_PAYLOAD_BYTES} bytes`,
  replay: 'sequence not above the last accepted one (replay or reordered)',
  undecryptable: 'does not decrypt to an Opus packet of the announced duration (wrong key or corrupt)',
};

const noDrops = (): Record<UdpDropReason, number> => ({ short: 0, type: 0, length: 0, unknown_session: 0, empty: 0, oversized: 0, replay: 0, undecryptable: 0 });

export interface UdpSessionStats {
  received: number;
  accepted: number;
  dropped: Record<UdpDropReason, number>;
  sent: number;
  /** Reply packets with no device address to send them to yet. */
  unsent: number;
}

export interface UdpAudioSessionOptions {
  deviceId: string;
  /** Duration of the device's packets, from its hello (`audio_params.frame_duration`). */
  frameMs: number;
  /** One accepted microphone packet, decrypted (the buffer is the session's to keep). */
  onAudio(packet: Uint8Array): void;
  logger: Logger;
}

export interface UdpAudioSession {
  readonly ssrc: number;
  /** For the server hello's `udp {key, nonce}`: 16 bytes each, hex. */
  readonly key: string;
  readonly nonce: string;
  readonly stats: Readonly<UdpSessionStats>;
  /** Where the device sends from (its latest accepted datagram); undefined before the first. */
  readonly remote: { address: string; port: number } | undefined;
  /** Encrypts and sends one reply Opus packet; false when the device's address is not known yet. */
  send(packet: Uint8Array): boolean;
  close(): void;
}

export interface UdpAudioServer {
  /** The port bound. */
  readonly port: number;
  readonly sessionCount: number;
  /** Datagrams that reached no session. */
  readonly unrouted: Readonly<Record<UdpDropReason, number>>;
  open(options: UdpAudioSessionOptions): UdpAudioSession;
  close(): Promise<void>;
}

export interface UdpAudioServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  logger: Logger;
}

interface LiveSession extends UdpAudioSession {
  receive(datagram: Buffer, from: dgram.RemoteInfo): void;
}

export async function startUdpAudioServer(options: UdpAudioServerOptions): Promise<UdpAudioServer> {
  const logger = options.logger.child({ transport: 'xiaozhi-udp' });
  const socket = dgram.createSocket({ type: isIPv6(options.host) ? 'udp6' : 'udp4' });
  const sessions = new Map<number, LiveSession>();
  const unrouted = noDrops();
  const unroutedLoggedAt = new Map<UdpDropReason, number>();
  let closed = false;

  const dropUnrouted = (reason: UdpDropReason, from: dgram.RemoteInfo) => {
    unrouted[reason]++;
    const now = Date.now();
    if (now - (unroutedLoggedAt.get(reason) ?? -Infinity) < UNROUTED_LOG_INTERVAL_MS) return;
    unroutedLoggedAt.set(reason, now);
    logger.warn({ reason, remote: `${from.address}:${from.port}`, dropped: unrouted[reason] }, `udp datagram dropped: ${WHY[reason]} (logged at most once a minute)`);
  };

  socket.on('message', (datagram, from) => {
    try {
      const problem = udpFramingProblem(datagram);
      if (problem === 'short' || problem === 'type') return dropUnrouted(problem, from);
      const session = sessions.get(datagram.readUInt32BE(4));
      if (!session) return dropUnrouted(problem ?? 'unknown_session', from);
      session.receive(datagram, from);
    } catch (err) {
      // A session bug must cost a datagram, not the gateway.
      logger.error({ err }, 'handling a udp datagram failed');
    }
  });
  socket.on('error', (err) => logger.error({ err }, 'udp socket error'));
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(options.port, options.host, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  const port = socket.address().port;
  logger.info({ host: options.host, port }, 'xiaozhi udp audio listening');

  const newSsrc = (): number => {
    for (;;) {
      const ssrc = randomBytes(4).readUInt32BE(0);
      if (ssrc !== 0 && !sessions.has(ssrc)) return ssrc;
    }
  };

  function open(o: UdpAudioSessionOptions): UdpAudioSession {
    if (closed) throw new Error('the udp audio server is closed');
    const log = o.logger;
    const once = new LogOnce();
    const ssrc = newSsrc();
    const key = randomBytes(UDP_KEY_BYTES);
    const nonce = udpNonce(ssrc);
    const cipher = new XiaozhiUdpCipher(key);
    const expectedTenths = o.frameMs * 10;
    const startedAt = Date.now();
    const stats: UdpSessionStats = { received: 0, accepted: 0, dropped: noDrops(), sent: 0, unsent: 0 };
    let lastSequence = 0;
    let downSequence = 0;
    let remote: { address: string; port: number } | undefined;
    let ended = false;

    const drop = (reason: UdpDropReason, from: dgram.RemoteInfo, detail: Record<string, unknown> = {}) => {
      stats.dropped[reason]++;
      if (once.first(reason)) log.warn({ reason, remote: `${from.address}:${from.port}`, ...detail }, `udp datagram dropped: ${WHY[reason]} (logged once per session)`);
    };

    const session: LiveSession = {
      ssrc,
      key: key.toString('hex'),
      nonce: nonce.toString('hex'),
      stats,
      get remote() {
        return remote;
      },
      receive(datagram, from) {
        stats.received++;
        const problem = udpFramingProblem(datagram);
        if (problem) return drop(problem, from);
        const payloadLength = datagram.readUInt16BE(2);
        const sequence = datagram.readUInt32BE(12);
        if (payloadLength === 0) return drop('empty', from);
        if (payloadLength > UDP_MAX_PAYLOAD_BYTES) return drop('oversized', from, { bytes: payloadLength });
        if (sequence <= lastSequence) return drop('replay', from, { sequence, last: lastSequence });
        // Decrypted in place: the datagram buffer is this message's own.
        const payload = datagram.subarray(UDP_HEADER_BYTES);
        cipher.apply(datagram.subarray(0, UDP_HEADER_BYTES), payload, payload);
        const tenths = opusPacketDurationTenthsMs(payload);
        if (tenths !== expectedTenths) return drop('undecryptable', from, { bytes: payload.length, durationMs: tenths === null ? null : tenths / 10 });
        lastSequence = sequence;
        if (remote?.address !== from.address || remote.port !== from.port) {
          if (remote) log.info({ from: `${remote.address}:${remote.port}`, to: `${from.address}:${from.port}` }, 'device udp address changed');
          remote = { address: from.address, port: from.port };
        }
        stats.accepted++;
        o.onAudio(payload);
      },
      send(packet) {
        if (ended || closed) return false;
        if (!remote) {
          stats.unsent++;
          if (once.first('unsent')) log.warn('reply audio dropped: no udp datagram from the device yet, so its address is unknown (logged once per session)');
          return false;
        }
        if (packet.length > UDP_MAX_PAYLOAD_BYTES || downSequence === 0xffffffff) {
          if (once.first('unsendable')) log.warn({ bytes: packet.length }, 'reply packet not sendable over udp (too large, or the sequence ran out)');
          return false;
        }
        downSequence++;
        const datagram = sealUdpPacket(cipher, nonce, packet, Date.now() - startedAt, downSequence);
        socket.send(datagram, remote.port, remote.address, (err) => {
          if (err && once.first('send-error')) log.warn({ err: err.message }, 'udp send failed (logged once per session)');
        });
        stats.sent++;
        return true;
      },
      close() {
        if (ended) return;
        ended = true;
        if (sessions.get(ssrc) === session) sessions.delete(ssrc);
        log.debug({ ssrc, ...stats }, 'udp audio session closed');
      },
    };
    sessions.set(ssrc, session);
    return session;
  }

  return {
    port,
    get sessionCount() {
      return sessions.size;
    },
    unrouted,
    open,
    async close() {
      if (closed) return;
      closed = true;
      for (const session of [...sessions.values()]) session.close();
      await new Promise<void>((resolve) => socket.close(() => resolve()));
      logger.info('xiaozhi udp audio stopped');
    },
  };
}
