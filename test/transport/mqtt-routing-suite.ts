/**
 * The routing checks every MqttBus must pass under the MQTT device transport (one contract
 * suite, run against the embedded broker and against a real Mosquitto via the external bus).
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { Logger } from 'pino';
import { FRAME_KIND, createTopics, decodeAudioFrame, encodeAudioFrame } from '../../protocol/index.ts';
import type { MqttBus } from '../../gateway/transport/mqtt-bus.ts';
import { startMqttDeviceTransport, type MqttDeviceTransport } from '../../gateway/transport/mqtt-device-transport.ts';
import { RecordingSessions } from '../fakes/recording-session.ts';
import { captureLogger, eventually, linesWith, type LogLine } from './helpers.ts';
import { connectClient, endAllClients, type TestClient } from './mqtt-clients.ts';

export interface Credentials {
  username: string;
  password: string;
}

export interface MqttHarness {
  /** Where devices connect. */
  url: string;
  bus: MqttBus;
  deviceA: Credentials;
  deviceB: Credentials;
  /** An account that may read every voxgate topic (availability, traffic). */
  observer: Credentials;
  stop(): Promise<void>;
}

const topics = createTopics('voxgate');
const json = (value: unknown) => JSON.stringify(value);
const micFrame = (turn: number, seq: number, payload: number[]) =>
  encodeAudioFrame({ kind: FRAME_KIND.mic, turn, seq, payload: Uint8Array.from(payload) });

export function mqttRoutingSuite(makeHarness: (logger: Logger) => Promise<MqttHarness>): void {
  let harness: MqttHarness;
  let transport: MqttDeviceTransport;
  let recorder: RecordingSessions;
  let logLines: LogLine[];
  let log: Logger;
  let a: string;
  let b: string;

  beforeEach(async () => {
    const { logger, lines } = captureLogger();
    logLines = lines;
    log = logger;
    harness = await makeHarness(logger);
    recorder = new RecordingSessions({ echo: true });
    transport = await startMqttDeviceTransport({ bus: harness.bus, topicPrefix: 'voxgate', openSession: recorder.opener, logger });
    a = harness.deviceA.username;
    b = harness.deviceB.username;
  });

  afterEach(async () => {
    await endAllClients();
    await transport?.close();
    await harness?.stop();
  });

  const device = (who: Credentials, options = {}) => connectClient(harness.url, who.username, who.password, options);
  const observe = async (filter: string) => {
    const observer = await device(harness.observer);
    await observer.client.subscribeAsync(filter, { qos: 1 });
    return observer;
  };
  /** A device that listens to its own downlink and has said hello. */
  async function helloDevice(who: Credentials, options = {}): Promise<TestClient> {
    const dev = await device(who, options);
    await dev.client.subscribeAsync(`voxgate/${who.username}/down/#`, { qos: 1 });
    await dev.client.publishAsync(topics.upCtrl(who.username), json({ type: 'hello', version: 1, transport: 'mqtt' }), { qos: 1 });
    await eventually(() => recorder.controlTypes(who.username).includes('hello'), `${who.username}'s hello`);
    return dev;
  }
  /** Round trip through the session: once the pong is back, everything the device sent before it was handled. */
  async function roundTrip(dev: TestClient, deviceId: string, id: number): Promise<void> {
    await dev.client.publishAsync(topics.upCtrl(deviceId), json({ type: 'ping', id }), { qos: 1 });
    await eventually(() => dev.texts(topics.downCtrl(deviceId)).includes(json({ type: 'pong', id })), `pong ${id}`);
  }

  it('shows devices the retained gateway state `online`', async () => {
    const dev = await device(harness.deviceA);
    await dev.client.subscribeAsync(topics.gatewayState(), { qos: 1 });
    const state = await eventually(() => dev.received.find((r) => r.topic === topics.gatewayState()), 'gateway state');
    expect(state.payload.toString()).toBe('online');
    expect(state.retain).toBe(true);
  });

  it('routes up/ctrl to the device session and link.send to down/ctrl (QoS 1 JSON)', async () => {
    const dev = await helloDevice(harness.deviceA);
    const [session] = recorder.forDevice(a);
    expect(session?.link.transport).toBe('mqtt');
    expect(session?.link.deviceId).toBe(a);
    await dev.client.publishAsync(topics.upCtrl(a), '{"type":"listen",', { qos: 1 });
    await roundTrip(dev, a, 5);
    expect(recorder.controlTypes(a)).toEqual(['hello', '!invalid', 'ping']);
    const pong = dev.received.find((r) => r.topic === topics.downCtrl(a));
    expect(pong?.qos).toBe(1);
    expect(recorder.sessions).toHaveLength(1);
  });

  it('publishes retained availability: online when the session opens, offline on goodbye', async () => {
    const observer = await observe('voxgate/+/availability');
    const dev = await helloDevice(harness.deviceA);
    await eventually(() => observer.texts(topics.availability(a)).includes('online'), 'online');
    const late = await observe(topics.availability(a));
    const retained = await eventually(() => late.received[0], 'retained availability');
    expect([retained.payload.toString(), retained.retain]).toEqual(['online', true]);

    await dev.client.publishAsync(topics.upCtrl(a), json({ type: 'goodbye', reason: 'sleep' }), { qos: 1 });
    const session = recorder.forDevice(a)[0]!;
    await eventually(() => session.disconnects.length, 'disconnected');
    expect(session.disconnects).toEqual(['goodbye: sleep']);
    expect(recorder.controlTypes(a)).toEqual(['hello', 'goodbye']);
    await eventually(() => observer.texts(topics.availability(a)).at(-1) === 'offline', 'offline');

    // The next message opens a fresh session (which will insist on hello itself).
    await roundTrip(dev, a, 1);
    expect(recorder.forDevice(a)).toHaveLength(2);
    await eventually(() => observer.texts(topics.availability(a)).at(-1) === 'online', 'online again');
  });

  it('ends the session once when a device is lost (its will `goodbye lost`)', async () => {
    const observer = await observe('voxgate/#');
    const will = { topic: topics.upCtrl(a), payload: Buffer.from(json({ type: 'goodbye', reason: 'lost' })), qos: 1 as const, retain: false };
    const dev = await helloDevice(harness.deviceA, { will, keepalive: 5 });
    dev.client.stream.destroy(); // no DISCONNECT: the broker must publish the will
    await eventually(() => observer.texts(topics.upCtrl(a)).some((t) => t.includes('"lost"')), 'the will to be published');
    const session = recorder.forDevice(a)[0]!;
    await eventually(() => session.disconnects.length, 'disconnected');
    await eventually(() => observer.texts(topics.availability(a)).at(-1) === 'offline', 'offline');
    expect(session.disconnects).toHaveLength(1);
    expect(session.disconnects[0]).toMatch(/^(goodbye: lost|connection closed)$/);
    expect(recorder.forDevice(a)).toHaveLength(1); // the will did not open a new session
  });

  it('passes mic frames with turn and seq, drops bad frames (logged once), and echoes with the reply header', async () => {
    const dev = await helloDevice(harness.deviceA);
    for (let seq = 0; seq < 5; seq++) await dev.client.publishAsync(topics.upAudio(a), micFrame(7, seq, [seq, 100 + seq]), { qos: 0 });
    const session = recorder.forDevice(a)[0]!;
    await eventually(() => session.audio.length === 5, 'five frames');
    expect(session.audio.map((f) => [f.turn, f.seq, [...f.packet]])).toEqual(
      [0, 1, 2, 3, 4].map((seq) => [7, seq, [seq, 100 + seq]]),
    );

    await dev.client.publishAsync(topics.upAudio(a), Buffer.from([1, 1, 0]), { qos: 0 }); // shorter than the header
    const badVersion = micFrame(7, 5, [9]);
    badVersion[0] = 9;
    await dev.client.publishAsync(topics.upAudio(a), badVersion, { qos: 0 });
    await dev.client.publishAsync(topics.upAudio(a), encodeAudioFrame({ kind: FRAME_KIND.reply, turn: 7, seq: 6, payload: Uint8Array.of(1) }), { qos: 0 });
    await dev.client.publishAsync(topics.upAudio(a), micFrame(7, 7, [77]), { qos: 0 });
    await eventually(() => session.audio.length === 6, 'the next good frame');
    expect(session.audio[5]).toMatchObject({ turn: 7, seq: 7 });
    expect(linesWith(logLines, 'bad audio frame dropped (further ones silently)')).toHaveLength(1);
    expect(session.controls.map((c) => c.kind)).toEqual(['message']); // bad audio is not a control

    const echoed = await eventually(() => {
      const frames = dev.received.filter((r) => r.topic === topics.downAudio(a));
      return frames.length === 6 && frames;
    }, 'six echoed frames');
    const decoded = echoed.map((r) => decodeAudioFrame(r.payload));
    for (const [i, d] of decoded.entries()) {
      expect(d.ok).toBe(true);
      if (!d.ok) continue;
      expect(d.frame.kind).toBe(FRAME_KIND.reply);
      expect(d.frame.turn).toBe(7);
      expect([...d.frame.payload]).toEqual([...session.audio[i]!.packet]);
      expect(d.frame.seq).toBe(session.audio[i]!.seq);
    }
  });

  it('never lets a device reach another device: forged publishes are dropped, foreign downlinks unseen', async () => {
    const devB = await helloDevice(harness.deviceB);
    const devA = await helloDevice(harness.deviceA);
    let aClosed = false;
    devA.client.on('close', () => (aClosed = true));

    await devA.client.publishAsync(topics.upCtrl(b), json({ type: 'reset' }), { qos: 1 });
    await devA.client.publishAsync(topics.upAudio(b), micFrame(1, 0, [6, 6, 6]), { qos: 0 });
    await devA.client.subscribeAsync(`voxgate/${b}/down/#`, { qos: 1 }).catch(() => {});
    await roundTrip(devA, a, 11); // A is still connected and served
    expect(aClosed).toBe(false);

    await roundTrip(devB, b, 12); // traffic on B's downlink that A must not see
    expect(recorder.controlTypes(b)).toEqual(['hello', 'ping']);
    expect(recorder.forDevice(b)[0]?.audio).toEqual([]);
    await roundTrip(devA, a, 13); // sent after B's pong: had A been subscribed, B's pong would be here by now
    expect(devA.received.map((r) => r.topic).filter((t) => t.includes(`/${b}/`))).toEqual([]);
    expect(recorder.controlTypes(a)).toEqual(['hello', 'ping', 'ping']);
  });

  it('never takes a retained uplink for a new message (a restarted transport does not replay it)', async () => {
    const dev = await device(harness.deviceA);
    await dev.client.subscribeAsync(`voxgate/${a}/down/#`, { qos: 1 });
    await dev.client.publishAsync(topics.upCtrl(a), json({ type: 'ping', id: 1 }), { qos: 1, retain: true });
    await eventually(() => dev.texts(topics.downCtrl(a)).includes(json({ type: 'pong', id: 1 })), 'the live pong');
    await transport.close();
    recorder = new RecordingSessions({ echo: true });
    transport = await startMqttDeviceTransport({ bus: harness.bus, topicPrefix: 'voxgate', openSession: recorder.opener, logger: log });
    await roundTrip(dev, a, 2);
    const controls = recorder.forDevice(a)[0]?.controls ?? [];
    expect(controls.map((c) => (c.kind === 'message' && c.message.type === 'ping' ? c.message.id : c.kind))).toEqual([2]);
  });

  it('close() ends every session once and marks the devices offline', async () => {
    const observer = await observe('voxgate/+/availability');
    await helloDevice(harness.deviceA);
    await helloDevice(harness.deviceB);
    expect(transport.sessionCount).toBe(2);
    await transport.close();
    expect(recorder.sessions.map((s) => s.disconnects)).toEqual([['gateway stopping'], ['gateway stopping']]);
    expect(transport.sessionCount).toBe(0);
    await eventually(
      () => observer.texts(topics.availability(a)).at(-1) === 'offline' && observer.texts(topics.availability(b)).at(-1) === 'offline',
      'both offline',
    );
  });
}
