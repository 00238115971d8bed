/**
 * Issue 2's bad-input list over the real gateway, both transports. Each bad input gets what
 * docs/protocol.md specifies, is logged once, never crashes the gateway, and never disturbs a
 * second device that is talking at the very same time (it completes its turn untouched).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectError, type SimTransport } from '../../device-sim/index.ts';
import { createTopics, type GatewayMessage } from '../../protocol/index.ts';
import { DEFAULT_FAKE_REPLY, FakeResponder } from '../fakes/fake-responder.ts';
import { FakeStt } from '../fakes/fake-stt.ts';
import { FakeTts } from '../fakes/fake-tts.ts';
import { speechClip } from './audio.ts';
import { E2eGateway, TRANSPORTS, uniqueId } from './harness.ts';
import { connackCode, rawSuback, type RawDevice } from './raw-device.ts';

const MIC = { format: 'pcm16', sample_rate: 16000, channels: 1, frame_duration: 60 } as const;
/** One 60 ms pcm16 packet of near-silence (valid audio). */
const PCM_PACKET = new Uint8Array(960 * 2);

describe.each(TRANSPORTS)('bad input over %s', (transport: SimTransport) => {
  let gw: E2eGateway;
  beforeAll(async () => {
    // A short reply (10 ms of tone per character) keeps the bystanders' turns, and so this file, quick.
    gw = await E2eGateway.start({ engines: { stt: new FakeStt(), tts: new FakeTts({ msPerChar: 10 }), responder: new FakeResponder() } });
  });
  afterAll(() => gw.dispose());

  /** Runs `badInput` while a second device is in the middle of a turn, then checks that turn. */
  async function whileAnotherDeviceTalks(badInput: (bystanderId: string) => Promise<void>): Promise<void> {
    const creds = gw.addDevice(uniqueId('bystander'));
    const bystander = await gw.connect(transport, creds);
    const listening = bystander.waitForMessage((m) => m.type === 'stt' && !m.final);
    const turn = bystander.talk(await speechClip(1), { speed: 1.5 });
    await listening; // it is talking now
    await badInput(creds.id);
    const result = await turn;
    expect(result.errors).toEqual([]);
    expect(result.stopReason).toBe('done');
    expect(result.final).toMatch(/^turn on/);
    expect(result.sentences).toEqual(DEFAULT_FAKE_REPLY);
    expect(result.replyAudio.packets).toBeGreaterThan(0);
    expect(bystander.issues).toEqual([]);
    await expect(gw.waitForTurn(creds.id)).resolves.toMatchObject({ outcome: 'completed', transcript: result.final });
  }

  async function helloed(raw: RawDevice, mic: object = MIC): Promise<string> {
    await raw.sendJson({ type: 'hello', version: 1, transport: raw.transport, audio_params: mic });
    const hello = (await raw.waitFor((m) => m.type === 'hello')) as Extract<GatewayMessage, { type: 'hello' }>;
    return hello.session_id;
  }

  /** A ping round trip: everything the device sent before it has been handled (MQTT: QoS 0 audio cannot overtake a later QoS 1 message). */
  let pingId = 1000;
  async function roundTrip(raw: RawDevice): Promise<void> {
    const id = pingId++;
    await raw.sendJson({ type: 'ping', id });
    await raw.waitFor((m) => m.type === 'pong' && m.id === id);
  }

  const errors = (raw: RawDevice) => raw.messages.filter((m): m is Extract<GatewayMessage, { type: 'error' }> => m.type === 'error');

  it('answers malformed JSON with bad_message, logs it once, and the session goes on', async () => {
    const creds = gw.addDevice(uniqueId('garbler'));
    const raw = await gw.raw(transport, creds);
    await helloed(raw);
    await whileAnotherDeviceTalks(async () => {
      await raw.sendText('{"type":"listen","state":');
      await raw.sendText('{"type":"listen","state":');
      await roundTrip(raw);
    });
    expect(errors(raw).map((e) => e.code)).toEqual(['bad_message', 'bad_message']);
    expect(gw.lines(creds.id, 'bad message')).toHaveLength(1);
  });

  it('answers a message before hello with not_ready, logs it once, and hello still works', async () => {
    const creds = gw.addDevice(uniqueId('hasty'));
    const raw = await gw.raw(transport, creds);
    await whileAnotherDeviceTalks(async () => {
      await raw.sendJson({ type: 'listen', state: 'start', mode: 'manual', turn: 1 });
      await raw.waitFor((m) => m.type === 'error');
      await helloed(raw);
    });
    expect(errors(raw).map((e) => e.code)).toEqual(['not_ready']);
    expect(gw.lines(creds.id, 'message before hello')).toHaveLength(1);
    await roundTrip(raw);
  });

  it('ignores an unknown message type (no error), logs it once, and the session goes on', async () => {
    const creds = gw.addDevice(uniqueId('novel'));
    const raw = await gw.raw(transport, creds);
    const session = await helloed(raw);
    await whileAnotherDeviceTalks(async () => {
      await raw.sendJson({ session_id: session, type: 'teleport', to: 'mars' });
      await raw.sendJson({ session_id: session, type: 'teleport', to: 'venus' });
      await roundTrip(raw);
    });
    expect(errors(raw)).toEqual([]);
    expect(gw.lines(creds.id, 'ignoring unknown message type')).toHaveLength(1);
  });

  it('answers an audio frame over the size cap with unsupported_audio, once per turn', async () => {
    const creds = gw.addDevice(uniqueId('bulky'));
    const raw = await gw.raw(transport, creds);
    const session = await helloed(raw);
    const oversized = new Uint8Array(gw.config.limits.maxAudioFrameBytes + 904); // 5000 bytes by default
    await whileAnotherDeviceTalks(async () => {
      await raw.sendJson({ session_id: session, type: 'listen', state: 'start', mode: 'manual', turn: 1 });
      await raw.sendAudio(oversized, 1, 0);
      await raw.sendAudio(oversized, 1, 1);
      await raw.sendAudio(PCM_PACKET, 1, 2);
      await roundTrip(raw);
      await raw.sendJson({ session_id: session, type: 'listen', state: 'stop', turn: 1, frames: 3 });
      await raw.waitFor((m) => m.type === 'stt' && m.final && m.turn === 1);
    });
    expect(errors(raw)).toMatchObject([{ code: 'unsupported_audio', turn: 1 }]);
    expect(gw.lines(creds.id, 'over the').filter((l) => l.code === 'unsupported_audio')).toHaveLength(1);
  });

  it('drops audio for an unknown or finished turn without an error, logged once each time', async () => {
    const creds = gw.addDevice(uniqueId('stray'));
    const raw = await gw.raw(transport, creds);
    const session = await helloed(raw);
    const dropped = () => gw.lines(creds.id, 'audio with no listening turn dropped');
    await whileAnotherDeviceTalks(async () => {
      for (let seq = 0; seq < 3; seq++) await raw.sendAudio(PCM_PACKET, 77, seq);
      await roundTrip(raw);
      expect(dropped()).toHaveLength(1);
      // A turn that ends (nothing heard) ...
      await raw.sendJson({ session_id: session, type: 'listen', state: 'start', mode: 'manual', turn: 5 });
      for (let seq = 0; seq < 3; seq++) await raw.sendAudio(PCM_PACKET, 5, seq);
      await raw.sendJson({ session_id: session, type: 'listen', state: 'stop', turn: 5, frames: 3 });
      await raw.waitFor((m) => m.type === 'stt' && m.final && m.turn === 5);
      await gw.waitForTurn(creds.id, (r) => r.turn === 5);
      // ... and late frames for it.
      for (let seq = 3; seq < 6; seq++) await raw.sendAudio(PCM_PACKET, 5, seq);
      await roundTrip(raw);
    });
    expect(errors(raw)).toEqual([]);
    expect(dropped()).toHaveLength(2);
  });

  it('answers invalid Opus with unsupported_audio, once per turn', async () => {
    const creds = gw.addDevice(uniqueId('noisy'));
    const raw = await gw.raw(transport, creds);
    const session = await helloed(raw, { ...MIC, format: 'opus' });
    await whileAnotherDeviceTalks(async () => {
      await raw.sendJson({ session_id: session, type: 'listen', state: 'start', mode: 'manual', turn: 3 });
      await raw.sendAudio(new Uint8Array([0x03, 0x00, 0x11, 0x22]), 3, 0); // code 3 packet with 0 frames
      await raw.sendAudio(new Uint8Array([0x7a, 0xfb, 0x01, 0x02]), 3, 1); // code 2, first frame longer than the packet
      await roundTrip(raw);
      await raw.sendJson({ session_id: session, type: 'listen', state: 'stop', turn: 3, frames: 2 });
      await raw.waitFor((m) => m.type === 'stt' && m.final && m.turn === 3);
    });
    expect(errors(raw)).toMatchObject([{ code: 'unsupported_audio', turn: 3 }]);
    expect(gw.log.lines.filter((l) => l.device === creds.id && l.code === 'unsupported_audio')).toHaveLength(1);
  });

  it('refuses a wrong token and an unknown device at connect, logging each refusal once', async () => {
    const creds = gw.addDevice(uniqueId('locked'));
    const stranger = uniqueId('stranger');
    await whileAnotherDeviceTalks(async () => {
      const wrong = gw.simDevice(transport, { id: creds.id, token: `${creds.token}x` });
      const failure = await wrong.connect().catch((err: unknown) => err);
      expect(failure).toBeInstanceOf(ConnectError);
      expect((failure as ConnectError).failure).toBe('unauthorized');
      if (transport === 'websocket') {
        expect((failure as ConnectError).message).toContain('HTTP 401');
        const unknown = await gw.simDevice(transport, { id: stranger, token: 'whatever' }).connect().catch((err: unknown) => err);
        expect((unknown as ConnectError).message).toContain('HTTP 401');
      } else {
        expect((failure as ConnectError).message).toMatch(/CONNACK [45]/);
        expect([4, 5]).toContain(await connackCode(gw.url('mqtt'), stranger, 'whatever'));
      }
    });
    const refusal = transport === 'websocket' ? 'websocket refused: bad credentials' : 'mqtt connect refused: bad credentials';
    expect(gw.lines(creds.id, refusal)).toHaveLength(1);
    expect(gw.lines(stranger, refusal)).toHaveLength(1);
    expect(gw.gateway.sessions.connectedDevices().map((d) => d.deviceId)).not.toContain(stranger);
  });

  it("refuses an MQTT device publishing to or subscribing to another device's topics; the other device sees nothing", async () => {
    const topics = createTopics(gw.config.mqttTopicPrefix);
    const attackerCreds = gw.addDevice(uniqueId('intruder'));
    const attacker = await gw.raw('mqtt', attackerCreds);
    const foreign: string[] = [];
    attacker.mqtt!.on('message', (topic) => !topic.startsWith(`${topics.prefix}/${attackerCreds.id}/`) && foreign.push(topic));
    let grants: number[] = [];
    await whileAnotherDeviceTalks(async (victimId) => {
      grants = await rawSuback(attacker.mqtt!, `${topics.prefix}/${victimId}/down/#`);
      const hello = { type: 'hello', version: 1, transport: 'mqtt', audio_params: MIC };
      // Speaking for the victim (this would replace its session), and speaking to it.
      await attacker.mqtt!.publishAsync(topics.upCtrl(victimId), JSON.stringify(hello), { qos: 1 });
      await attacker.mqtt!.publishAsync(topics.upCtrl(victimId), JSON.stringify({ type: 'abort' }), { qos: 1 });
      await attacker.mqtt!.publishAsync(topics.downCtrl(victimId), JSON.stringify({ type: 'tts', state: 'stop', turn: 1, reason: 'aborted' }), { qos: 1 });
      await helloed(attacker);
      await roundTrip(attacker);
    });
    expect(grants).toEqual([128]);
    expect(foreign).toEqual([]);
    expect(gw.lines(attackerCreds.id, 'mqtt publish refused by ACL')).toHaveLength(1);
    expect(gw.lines(attackerCreds.id, 'mqtt subscription refused by ACL')).toHaveLength(1);
  });
});
