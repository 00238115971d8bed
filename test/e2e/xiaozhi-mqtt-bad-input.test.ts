/**
 * Bad input over MQTT + UDP, against the real gateway: UDP datagrams under a wrong key, with a
 * wrong length, replayed, garbage or for no session; MQTT logins with wrong or stale
 * credentials or someone else's client id; a xiaozhi login publishing or subscribing outside
 * its one topic; a hello of another version; a device removed while connected. Each is
 * refused or dropped and logged once, and the gateway and the other devices carry on.
 */
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createOpusEncoder } from '../../audio/opus.ts';
import { opusPacketDurationTenthsMs } from '../../audio/opus-packet.ts';
import { float32ToInt16 } from '../../audio/pcm16.ts';
import { checkVersion, clientIdFor } from '../../device-sim/xiaozhi/index.ts';
import { sealUdpPacket, UDP_HEADER_BYTES, XiaozhiUdpCipher } from '../../protocol/xiaozhi/index.ts';
import { startFakeGroqServer, type FakeGroqServer } from '../fakes/fake-groq-server.ts';
import { speechClip } from './audio.ts';
import { disposeGatewaysAfterEach, type E2eGateway } from './harness.ts';
import { GROQ_TEST_KEY } from './real-brain.ts';
import { closeXiaozhiDevices, MQTT_UDP, otaUrl, passes, startXiaozhiGateway, uniqueMac, xiaozhiDevice } from './xiaozhi-harness.ts';

disposeGatewaysAfterEach();
let fake: FakeGroqServer;
const clients = new Set<MqttClient>();
beforeEach(async () => {
  fake = await startFakeGroqServer({ apiKey: GROQ_TEST_KEY });
});
afterEach(async () => {
  await Promise.all([...clients].map((c) => c.endAsync(true).catch(() => {})));
  clients.clear();
  await closeXiaozhiDevices();
  await fake.close();
});

/** The OTA answer's mqtt block for a device added by MAC (each call rotates its password). */
async function credentialsFor(gw: E2eGateway, mac: string) {
  const answer = await checkVersion(otaUrl(gw), { mac, clientId: clientIdFor(mac) });
  return answer.mqtt as { endpoint: string; client_id: string; username: string; password: string; publish_topic: string };
}

/** Connects like the firmware (no subscription); resolves with the client or rejects with the CONNACK code. */
async function login(gw: E2eGateway, options: { clientId: string; username: string; password: string }): Promise<MqttClient> {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${gw.gateway.mqttPort}`, { ...options, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5_000 });
  clients.add(client);
  return client;
}

function connackCode(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => 'connected',
    (error: { code?: unknown }) => error.code,
  );
}

/** The SUBACK return codes of one subscription (mqtt.js rejects a refused one, with the SUBACK). */
function subscribeCodes(client: MqttClient, filter: string): Promise<number[]> {
  return client.subscribeAsync(filter).then(
    (granted) => granted.map((g) => g.qos),
    (error: { packet?: { granted?: Array<number | { qos: number }> } }) => (error.packet?.granted ?? []).map((g) => (typeof g === 'number' ? g : g.qos)),
  );
}

/** A real 60 ms Opus packet of speech, as the firmware's encoder makes it. */
async function speechPacket(): Promise<Uint8Array> {
  const encoder = createOpusEncoder(16000, { bitrate: 24_000, dtx: true });
  const samples = await speechClip(1);
  const packet = encoder.encode(float32ToInt16(samples.subarray(8_000, 8_960)));
  encoder.close();
  return packet;
}

describe('xiaozhi MQTT + UDP bad input', () => {
  it('UDP: a wrong key, a wrong length, a replay, garbage and an unknown ssrc are dropped, counted and logged once; the device and another one still talk', async () => {
    fake.chat.setDefault({ type: 'text', text: 'All good here.' });
    const gw = await startXiaozhiGateway(fake, MQTT_UDP);
    const bad = xiaozhiDevice(gw, { transport: 'mqtt' });
    const good = xiaozhiDevice(gw, { transport: 'mqtt' });
    await bad.connect();
    await good.connect();
    const badId = gw.gateway.store.devices.getByMac(bad.identity.mac)!.id;
    const goodTurn = good.talk(await speechClip(1.5), { speed: 1 });

    const channel = bad.mqttChannel!;
    const { key, nonce } = channel.udpParams!;
    const opus = await speechPacket();
    await bad.send({ session_id: bad.sessionId, type: 'listen', state: 'start', mode: 'manual' });
    // A replay: the same valid datagram twice (the first is audio of the turn).
    const valid = channel.sealNext(opus)!;
    bad.sendRawBinary(valid);
    bad.sendRawBinary(valid);
    // A wrong key: real Opus under another key, with fresh sequences. Keys whose datagram would
    // happen to decrypt to a well-formed 60 ms packet under the session key (about 1 in 40) are skipped,
    // so every one of these is one the check must catch.
    const right = new XiaozhiUdpCipher(key);
    let wrongKeyDatagrams = 0;
    while (wrongKeyDatagrams < 20) {
      const datagram = sealUdpPacket(new XiaozhiUdpCipher(randomBytes(16)), nonce, opus, 0, 1_000_000 + wrongKeyDatagrams);
      const seen = Buffer.alloc(opus.length);
      right.apply(datagram.subarray(0, UDP_HEADER_BYTES), datagram.subarray(UDP_HEADER_BYTES), seen);
      if (opusPacketDurationTenthsMs(seen) === 600) continue;
      bad.sendRawBinary(datagram);
      wrongKeyDatagrams++;
    }
    // A length that disagrees with the datagram, an empty payload.
    const lying = Buffer.from(channel.sealNext(opus)!);
    lying.writeUInt16BE(opus.length + 50, 2);
    bad.sendRawBinary(lying);
    bad.sendRawBinary(Buffer.from(nonce));
    // Garbage that reaches no session: too short for a header, another type, an unknown ssrc.
    bad.sendRawBinary(Buffer.alloc(10, 1));
    const otherType = Buffer.from(channel.sealNext(opus)!);
    otherType[0] = 0x02;
    bad.sendRawBinary(otherType);
    const noSession = Buffer.from(channel.sealNext(opus)!);
    noSession.writeUInt32BE((noSession.readUInt32BE(4) ^ 0x5a5a5a5a) >>> 0, 4);
    bad.sendRawBinary(noSession);
    // And all of it again: still one log line per kind.
    bad.sendRawBinary(valid);
    bad.sendRawBinary(lying);
    bad.sendRawBinary(Buffer.alloc(3));

    const session = (reason: string) => gw.lines(badId, 'udp datagram dropped').filter((l) => l.reason === reason);
    const unrouted = (reason: string) => gw.lines(undefined, 'udp datagram dropped').filter((l) => l.reason === reason && l.device === undefined);
    await passes(() => {
      for (const reason of ['replay', 'undecryptable', 'length', 'empty']) expect(session(reason), reason).toHaveLength(1);
      for (const reason of ['short', 'type', 'unknown_session']) expect(unrouted(reason), reason).toHaveLength(1);
    });
    await bad.send({ session_id: bad.sessionId, type: 'listen', state: 'stop' });

    // The device's own audio still counts: its sequence is above the one valid forged datagram.
    const after = await bad.talk(await speechClip(1.5, 4), { speed: 2 });
    expect(after).toMatchObject({ stopReason: 'done', sentences: ['All good here.'] });
    expect(after.final).toBeTruthy();
    expect(await goodTurn).toMatchObject({ stopReason: 'done', errors: [] });
    expect(good.issues).toEqual([]);

    // Counted exactly: the channel's summary when it closes.
    await bad.closeAudioChannel();
    await passes(() => expect(gw.lines(badId, 'xiaozhi audio channel closed')).toHaveLength(1));
    const udp = gw.lines(badId, 'xiaozhi audio channel closed')[0]!.udp as { dropped: Record<string, number>; accepted: number };
    expect(udp.dropped).toEqual({ short: 0, type: 0, length: 2, unknown_session: 0, empty: 1, oversized: 0, replay: 2, undecryptable: 20 });
    expect(udp.accepted).toBeGreaterThan(10);
  });

  it('MQTT logins: a wrong password, the password of an older OTA answer, and client ids or user names of another kind are refused at CONNACK', async () => {
    fake.chat.setDefault({ type: 'text', text: 'Still here.' });
    const gw = await startXiaozhiGateway(fake, MQTT_UDP);
    const bystander = xiaozhiDevice(gw, { transport: 'mqtt' });
    await bystander.connect();
    const mac = uniqueMac();
    gw.gateway.store.devices.add('kitchen', 'Kitchen', { mac });
    const stale = await credentialsFor(gw, mac);
    const current = await credentialsFor(gw, mac);
    const as = (c: typeof current, password = c.password) => ({ clientId: c.client_id, username: c.username, password });

    expect(await connackCode(login(gw, as(current, 'not-the-token')))).toBe(4);
    expect(await connackCode(login(gw, as(stale)))).toBe(4);
    // A voxgate device with its own valid credentials cannot take a xiaozhi client id (and so a xiaozhi connection).
    const plain = gw.addDevice('plain');
    expect(await connackCode(login(gw, { clientId: current.client_id, username: plain.id, password: plain.token }))).toBe(5);
    // A xiaozhi user name with another client id, or with another device's.
    expect(await connackCode(login(gw, { ...as(current), clientId: 'my-own-client' }))).toBe(5);
    expect(await connackCode(login(gw, { ...as(current), clientId: 'voxgate-xiaozhi-plain' }))).toBe(5);
    expect(await connackCode(login(gw, as(current)))).toBe('connected');
    expect(gw.lines('kitchen', 'xiaozhi mqtt connect refused: bad credentials')).toHaveLength(2);

    expect((await bystander.typed('still there?')).stopReason).toBe('done');
    expect(bystander.issues).toEqual([]);
  });

  it('a xiaozhi login publishes only to its topic and subscribes to nothing; a hello of another version opens no channel; a removed device loses its connection', async () => {
    fake.chat.setDefault({ type: 'text', text: 'Fine.' });
    const gw = await startXiaozhiGateway(fake, MQTT_UDP);
    const other = xiaozhiDevice(gw, { transport: 'mqtt' });
    await other.connect();
    const otherId = gw.gateway.store.devices.getByMac(other.identity.mac)!.id;
    const mac = uniqueMac();
    gw.gateway.store.devices.add('kitchen', 'Kitchen', { mac });
    const creds = await credentialsFor(gw, mac);
    const client = await login(gw, { clientId: creds.client_id, username: creds.username, password: creds.password });
    const received: Array<Record<string, unknown>> = [];
    client.on('message', (_topic, payload) => received.push(JSON.parse(payload.toString('utf8'))));

    // Subscriptions: refused, even to its own pushes' topic.
    expect(await subscribeCodes(client, '#')).toEqual([128]);
    expect(await subscribeCodes(client, `xiaozhi/${otherId}/down`)).toEqual([128]);
    expect(await subscribeCodes(client, 'xiaozhi/kitchen/down')).toEqual([128]);
    // Publishing as the other device, or as a voxgate device of its own id: dropped, logged once.
    const hello = { type: 'hello', version: 3, transport: 'udp', features: { mcp: true }, audio_params: { format: 'opus', sample_rate: 16000, channels: 1, frame_duration: 60 } };
    await client.publishAsync(`xiaozhi/${otherId}/up`, JSON.stringify({ session_id: other.sessionId, type: 'goodbye' }));
    await client.publishAsync(`xiaozhi/${otherId}/up`, JSON.stringify(hello));
    await client.publishAsync('voxgate/kitchen/up/ctrl', JSON.stringify({ type: 'hello', version: 1, audio_params: { format: 'opus', sample_rate: 16000, channels: 1, frame_duration: 60 } }));
    await client.publishAsync('voxgate/gateway/state', 'offline', { retain: true });
    await passes(() => expect(gw.lines(undefined, 'mqtt publish refused by ACL').filter((l) => l.direct === 'xiaozhi:kitchen')).toHaveLength(1));
    expect(gw.gateway.sessions.connectedDevices().map((d) => d.deviceId)).toEqual([otherId]);
    expect((await other.typed('are you still mine')).stopReason).toBe('done');
    expect(other.issues).toEqual([]);

    // A hello of another version: error bad_message, pushed onto the connection; no channel.
    await client.publishAsync(creds.publish_topic, JSON.stringify({ ...hello, version: 1 }));
    await passes(() => expect(received).toContainEqual(expect.objectContaining({ type: 'error', code: 'bad_message' })));
    expect(gw.gateway.sessions.connectedDevices().map((d) => d.deviceId)).toEqual([otherId]);
    // Its own topic with version 3 works, on the same connection.
    await client.publishAsync(creds.publish_topic, JSON.stringify(hello));
    await passes(() => expect(received).toContainEqual(expect.objectContaining({ type: 'hello', transport: 'udp', udp: expect.objectContaining({ port: gw.gateway.udpPort }) })));
    expect(gw.gateway.sessions.connectedDevices()).toContainEqual(expect.objectContaining({ deviceId: 'kitchen', transport: 'mqtt' }));

    // Removed while connected: its next hello costs it the connection.
    gw.gateway.store.devices.remove('kitchen');
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    await client.publishAsync(creds.publish_topic, JSON.stringify(hello));
    await closed;
    expect(gw.lines('kitchen', 'no longer valid')).toHaveLength(1);
    expect((await other.typed('and now')).stopReason).toBe('done');
  });

  it('UDP garbage from anywhere reaches no session and changes nothing', async () => {
    const gw = await startXiaozhiGateway(fake, MQTT_UDP);
    const socket = dgram.createSocket('udp4');
    try {
      for (const size of [0, 1, 15, 16, 17, 200, 1400]) socket.send(randomBytes(size), gw.gateway.udpPort!, '127.0.0.1');
      await passes(() => expect(gw.lines(undefined, 'udp datagram dropped').length).toBeGreaterThanOrEqual(2));
      expect(gw.lines(undefined, 'udp datagram dropped').every((l) => l.device === undefined)).toBe(true);
    } finally {
      socket.close();
    }
  });
});
