/**
 * The xiaozhi UDP audio socket (gateway/xiaozhi/mqtt-udp/udp-audio-server.ts) on loopback,
 * with a device socket that speaks the firmware's datagrams: what is accepted, what is dropped
 * and why (counted, logged once), the device's address learned from its datagrams, and reply
 * audio the firmware accepts (type 1, size = 16 + length, sequence from 1 and increasing).
 */
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createOpusEncoder } from '../../audio/opus.ts';
import { opusPacketDurationTenthsMs } from '../../audio/opus-packet.ts';
import { startUdpAudioServer, type UdpAudioServer, type UdpAudioSession } from '../../gateway/xiaozhi/mqtt-udp/udp-audio-server.ts';
import { readUdpHeader, sealUdpPacket, udpFramingProblem, UDP_HEADER_BYTES, XiaozhiUdpCipher } from '../../protocol/xiaozhi/index.ts';
import { createCaptureLogger, type CapturedLogger } from '../fakes/capture-logger.ts';

const opened: Array<{ close(): unknown }> = [];
afterEach(async () => {
  for (const item of opened.splice(0).reverse()) await item.close();
});

async function setup(frameMs = 60) {
  const log: CapturedLogger = createCaptureLogger('debug');
  const server: UdpAudioServer = await startUdpAudioServer({ host: '127.0.0.1', port: 0, logger: log.logger });
  opened.push(server);
  const heard: Uint8Array[] = [];
  const session: UdpAudioSession = server.open({ deviceId: 'desk', frameMs, onAudio: (p) => heard.push(Buffer.from(p)), logger: log.logger.child({ device: 'desk' }) });
  const device = dgram.createSocket('udp4');
  opened.push({ close: () => new Promise<void>((resolve) => device.close(() => resolve())) });
  await new Promise<void>((resolve) => device.bind(0, '127.0.0.1', resolve));
  const received: Buffer[] = [];
  device.on('message', (m) => received.push(m));
  const key = Buffer.from(session.key, 'hex');
  const nonce = Buffer.from(session.nonce, 'hex');
  const cipher = new XiaozhiUdpCipher(key);
  const send = (datagram: Uint8Array) => device.send(datagram, server.port, '127.0.0.1');
  const seal = (payload: Uint8Array, sequence: number, with_ = cipher) => sealUdpPacket(with_, nonce, payload, 0, sequence);
  return { log, server, session, device, heard, received, key, nonce, cipher, send, seal };
}

const until = async (check: () => boolean, timeoutMs = 2_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};

function opusFrames(count: number): Uint8Array[] {
  const encoder = createOpusEncoder(16000, { dtx: true });
  const frame = new Int16Array(960);
  return Array.from({ length: count }, (_, i) => {
    for (let j = 0; j < frame.length; j++) frame[j] = Math.round(6000 * Math.sin(((i * 960 + j) * 2 * Math.PI * 220) / 16000));
    return encoder.encode(frame);
  });
}

describe('xiaozhi UDP audio server', () => {
  it('accepts the device\'s packets in sequence, decrypted, and learns its address from them', async () => {
    const t = await setup();
    const frames = opusFrames(5);
    expect(t.session.remote).toBeUndefined();
    frames.forEach((f, i) => t.send(t.seal(f, i + 1)));
    await until(() => t.heard.length === 5);
    expect(t.heard.map((p) => Buffer.from(p).toString('hex'))).toEqual(frames.map((f) => Buffer.from(f).toString('hex')));
    const local = t.device.address();
    expect(t.session.remote).toEqual({ address: '127.0.0.1', port: local.port });
    expect(t.session.stats).toMatchObject({ received: 5, accepted: 5 });
  });

  it('replies in datagrams the firmware accepts: type 1, exact size, sequence from 1 increasing, its key; nothing before the device\'s address is known', async () => {
    const t = await setup();
    expect(t.session.send(new Uint8Array(50))).toBe(false);
    expect(t.session.stats.unsent).toBe(1);
    expect(t.log.matching('no udp datagram from the device yet')).toHaveLength(1);
    t.send(t.seal(opusFrames(1)[0]!, 1));
    await until(() => t.heard.length === 1);
    const replies = opusFrames(3);
    for (const r of replies) expect(t.session.send(r)).toBe(true);
    await until(() => t.received.length === 3);
    t.received.forEach((datagram, i) => {
      expect(udpFramingProblem(datagram)).toBeNull();
      const header = readUdpHeader(datagram);
      expect(header).toMatchObject({ type: 1, ssrc: t.session.ssrc, sequence: i + 1, payloadLength: replies[i]!.length });
      const body = Buffer.from(datagram.subarray(UDP_HEADER_BYTES));
      t.cipher.apply(datagram.subarray(0, UDP_HEADER_BYTES), body, body);
      expect(body.equals(Buffer.from(replies[i]!))).toBe(true);
    });
  });

  it('drops replays, wrong keys, wrong lengths and empty payloads: counted, logged once per kind, and none moves the sequence or the address', async () => {
    const t = await setup();
    const [a, b, c] = opusFrames(3);
    t.send(t.seal(a!, 10));
    await until(() => t.heard.length === 1);
    // Replays and stragglers.
    t.send(t.seal(a!, 10));
    t.send(t.seal(b!, 9));
    // A wrong key (a few tries: about 1 in 40 random keys decrypts to a well-formed 60 ms packet, and those are skipped here).
    let wrong = 0;
    for (let seq = 1_000; wrong < 10; seq++) {
      const datagram = t.seal(b!, seq, new XiaozhiUdpCipher(randomBytes(16)));
      const seen = Buffer.from(datagram.subarray(UDP_HEADER_BYTES));
      t.cipher.apply(datagram.subarray(0, UDP_HEADER_BYTES), seen, seen);
      if (opusPacketDurationTenthsMs(seen) === 600) continue;
      t.send(datagram);
      wrong++;
    }
    // Size disagreeing with the header, and an empty payload.
    const lying = t.seal(b!, 2_000);
    lying.writeUInt16BE(b!.length + 1, 2);
    t.send(lying);
    t.send(t.seal(new Uint8Array(0), 2_001));
    // From another socket, with a replayed sequence: its address is not learned.
    const stranger = dgram.createSocket('udp4');
    opened.push({ close: () => new Promise<void>((resolve) => stranger.close(() => resolve())) });
    stranger.send(t.seal(a!, 10), t.server.port, '127.0.0.1');
    await until(() => t.session.stats.received === 1 + 2 + 10 + 2 + 1);
    expect(t.session.stats.dropped).toEqual({ short: 0, type: 0, length: 1, unknown_session: 0, empty: 1, oversized: 0, replay: 3, undecryptable: 10 });
    expect(t.heard).toHaveLength(1);
    expect(t.session.remote!.port).toBe(t.device.address().port);
    const reasons = t.log.matching('udp datagram dropped').map((l) => l.reason);
    expect(reasons.sort()).toEqual(['empty', 'length', 'replay', 'undecryptable']);
    // The next real packet (sequence above the last accepted one) is audio again.
    t.send(t.seal(c!, 11));
    await until(() => t.heard.length === 2);
  });

  it('a packet of another duration than the hello announced counts as undecryptable', async () => {
    const t = await setup(20);
    t.send(t.seal(opusFrames(1)[0]!, 1)); // 60 ms, for a 20 ms session
    await until(() => t.session.stats.received === 1);
    expect(t.session.stats.dropped.undecryptable).toBe(1);
    expect(t.heard).toEqual([]);
  });

  it('datagrams for no session: short, another type, an unknown ssrc; logged at most once a minute per kind', async () => {
    const t = await setup();
    const valid = t.seal(opusFrames(1)[0]!, 1);
    const otherType = Buffer.from(valid);
    otherType[0] = 7;
    const unknown = Buffer.from(valid);
    unknown.writeUInt32BE((t.session.ssrc + 1) >>> 0, 4);
    for (let i = 0; i < 3; i++) {
      t.send(Buffer.alloc(5));
      t.send(otherType);
      t.send(unknown);
    }
    await until(() => t.server.unrouted.unknown_session === 3 && t.server.unrouted.short === 3 && t.server.unrouted.type === 3);
    expect(t.log.matching('udp datagram dropped').map((l) => l.reason).sort()).toEqual(['short', 'type', 'unknown_session']);
    expect(t.session.stats.received).toBe(0);
  });

  it('a closed session routes nothing; sessions get distinct ssrcs and keys', async () => {
    const t = await setup();
    const other = t.server.open({ deviceId: 'other', frameMs: 60, onAudio: () => {}, logger: t.log.logger });
    expect(other.ssrc).not.toBe(t.session.ssrc);
    expect(other.key).not.toBe(t.session.key);
    expect(t.server.sessionCount).toBe(2);
    t.session.close();
    expect(t.server.sessionCount).toBe(1);
    t.send(t.seal(opusFrames(1)[0]!, 1));
    await until(() => t.server.unrouted.unknown_session === 1);
    expect(t.heard).toEqual([]);
    expect(t.session.send(new Uint8Array(10))).toBe(false);
  });
});
