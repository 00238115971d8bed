/**
 * Changes made by the real CLI in another process (`voxgate device|service|apikey …` writing the
 * same SQLite file) reach the running gateway within about 2 s (it polls PRAGMA data_version):
 * Home Assistant discovery for added and removed wearables, sessions of removed or rotated
 * devices closed on WebSocket and on the embedded broker, service logins dropped, API keys
 * effective; and, on an external Mosquitto, the password file the gateway keeps in step.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { createTopics } from '../../protocol/index.ts';
import { openStore } from '../../gateway/store/index.ts';
import { runVoxgate } from '../cli/run-voxgate.ts';
import { FakeResponder } from '../fakes/fake-responder.ts';
import { FakeStt } from '../fakes/fake-stt.ts';
import { FakeTts } from '../fakes/fake-tts.ts';
import { requireProgram } from '../helpers/system-programs.ts';
import { useTempDirs } from '../helpers/temp-dir.ts';
import { eventually } from '../transport/helpers.ts';
import { documentedAcl, startMosquitto, type Mosquitto } from '../transport/mosquitto.ts';
import { disposeGatewaysAfterEach, E2eGateway, type Credentials } from './harness.ts';
import { connackCode, type RawDevice } from './raw-device.ts';

/** "About 2 s" (the poll runs every second); the margin is for 2 loaded CI cores. */
const PROPAGATION_LIMIT_MS = 3_000;
const topics = createTopics('voxgate');
const tempDir = useTempDirs('registry-changes');

const clients: Array<{ close(): unknown }> = [];
let mosquitto: Mosquitto | undefined;
afterEach(async () => {
  for (const client of clients.splice(0)) await client.close();
  await mosquitto?.stop();
  mosquitto = undefined;
});
// Registered after the hook above so that it runs before it: gateways stop while their broker is still up.
disposeGatewaysAfterEach();

const HELLO = { type: 'hello', version: 1, transport: 'mqtt', audio_params: { format: 'pcm16', sample_rate: 16000, channels: 1, frame_duration: 60 } };
const engines = () => ({ stt: new FakeStt(), tts: new FakeTts(), responder: new FakeResponder() });
const cli = (gateway: E2eGateway, ...args: string[]) => runVoxgate(args, { VOXGATE_DATA_DIR: gateway.dataDir });
async function cliJson<T>(gateway: E2eGateway, ...args: string[]): Promise<T> {
  const result = await cli(gateway, ...args, '--json');
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as T;
}

/** Milliseconds from `since` until `probe` holds (checked every 10 ms). */
async function delaySince(since: number, probe: () => unknown, what: string): Promise<number> {
  await eventually(probe, what, 15_000);
  return Date.now() - since;
}

/** A raw MQTT device on the embedded broker that has said hello, with a flag for its connection closing. */
async function helloDevice(gateway: E2eGateway, credentials: Credentials): Promise<RawDevice & { closed: () => boolean }> {
  const device = await gateway.raw('mqtt', credentials);
  let closed = false;
  device.mqtt!.on('close', () => (closed = true));
  await device.sendJson({ type: 'hello', version: 1, transport: 'mqtt', audio_params: { format: 'pcm16', sample_rate: 16000, channels: 1, frame_duration: 60 } });
  await device.waitFor((m) => m.type === 'hello');
  return Object.assign(device, { closed: () => closed });
}

/** A WebSocket device that has said hello, with a flag for its socket closing. */
function helloWebSocket(gateway: E2eGateway, credentials: Credentials): Promise<{ ws: WebSocket; closed: () => boolean }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${gateway.url('websocket')}/v1/device`, { headers: { Authorization: `Bearer ${credentials.token}`, 'Device-Id': credentials.id } });
    let closed = false;
    ws.on('close', () => (closed = true));
    ws.once('error', reject);
    clients.push({ close: () => ws.terminate() });
    ws.once('open', () => ws.send(JSON.stringify({ type: 'hello', version: 1, transport: 'websocket', audio_params: { format: 'pcm16', sample_rate: 16000, channels: 1, frame_duration: 60 } })));
    ws.on('message', (data) => {
      if ((JSON.parse(String(data)) as { type: string }).type === 'hello') resolve({ ws, closed: () => closed });
    });
  });
}

/** The HTTP status of a WebSocket upgrade with these credentials (101 = accepted). */
function upgradeStatus(gateway: E2eGateway, credentials: Credentials): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${gateway.url('websocket')}/v1/device`, { headers: { Authorization: `Bearer ${credentials.token}`, 'Device-Id': credentials.id } });
    ws.once('open', () => (ws.terminate(), resolve(101)));
    ws.once('unexpected-response', (_req, res) => (ws.terminate(), resolve(res.statusCode ?? 0)));
    ws.once('error', () => resolve(0));
  });
}

async function connectMqtt(url: string, username: string, password: string): Promise<MqttClient & { lost: () => boolean }> {
  const client = await mqtt.connectAsync(url, { username, password, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 10_000 });
  let lost = false;
  client.on('close', () => (lost = true));
  clients.push({ close: () => client.endAsync(true) });
  return Object.assign(client, { lost: () => lost });
}

describe('changes from the CLI in another process (embedded broker)', { timeout: 120_000 }, () => {
  it('a wearable added or removed with `voxgate device` reaches Home Assistant within about 2 s', async () => {
    const gateway = await E2eGateway.start({ engines: engines() });
    const haToken = gateway.gateway.store.services.add('homeassistant').token;
    const ha = await connectMqtt(gateway.url('mqtt'), 'homeassistant', haToken);
    const configs: Array<{ topic: string; text: string }> = [];
    ha.on('message', (topic, payload) => configs.push({ topic, text: payload.toString() }));
    await ha.subscribeAsync('homeassistant/device/+/config', { qos: 1 });
    const topic = 'homeassistant/device/voxgate_desk-9/config';

    const invoked = Date.now();
    await cliJson(gateway, 'device', 'add', 'desk-9');
    const exited = Date.now();
    const addDelay = await delaySince(exited, () => configs.some((c) => c.topic === topic && c.text.length > 0), 'the discovery config');
    expect((await cli(gateway, 'device', 'remove', 'desk-9')).code).toBe(0);
    const removeDelay = await delaySince(Date.now(), () => configs.at(-1)?.topic === topic && configs.at(-1)?.text === '', 'the config cleared');
    console.info(
      `[registry-changes] CLI device add (exited) → HA discovery: ${addDelay} ms (${exited - invoked + addDelay} ms from invoking the CLI); remove → cleared: ${removeDelay} ms`,
    );
    expect(addDelay).toBeLessThan(PROPAGATION_LIMIT_MS);
    expect(removeDelay).toBeLessThan(PROPAGATION_LIMIT_MS);
  });

  it('a token rotated or a device removed with the CLI ends its WebSocket and MQTT sessions; the old token is refused', async () => {
    const gateway = await E2eGateway.start({ engines: engines() });
    const wsDevice = gateway.addDevice('wearable-ws');
    const mqttDevice = gateway.addDevice('wearable-mqtt');
    const ws = await helloWebSocket(gateway, wsDevice);
    const viaMqtt = await helloDevice(gateway, mqttDevice);
    const connected = () => gateway.gateway.sessions.connectedDevices().map((d) => d.deviceId).sort();
    expect(connected()).toEqual(['wearable-mqtt', 'wearable-ws']);

    await cliJson(gateway, 'device', 'rotate-token', 'wearable-ws');
    const wsDelay = await delaySince(Date.now(), ws.closed, 'the WebSocket closed');
    const rotated = await cliJson<{ token: string }>(gateway, 'device', 'rotate-token', 'wearable-mqtt');
    const mqttDelay = await delaySince(Date.now(), viaMqtt.closed, 'the MQTT connection closed');
    console.info(`[registry-changes] CLI rotate-token → WebSocket closed: ${wsDelay} ms, MQTT closed: ${mqttDelay} ms`);
    expect(Math.max(wsDelay, mqttDelay)).toBeLessThan(PROPAGATION_LIMIT_MS);
    expect(connected()).toEqual([]);
    expect(await upgradeStatus(gateway, wsDevice)).toBe(401);
    expect(await connackCode(gateway.url('mqtt'), mqttDevice.id, mqttDevice.token)).not.toBe(0);

    const again = await helloDevice(gateway, { id: mqttDevice.id, token: rotated.token });
    expect((await cli(gateway, 'device', 'remove', 'wearable-mqtt')).code).toBe(0);
    const removeDelay = await delaySince(Date.now(), again.closed, 'the removed device disconnected');
    expect(removeDelay).toBeLessThan(PROPAGATION_LIMIT_MS);
    expect(connected()).toEqual([]);
    expect(await connackCode(gateway.url('mqtt'), mqttDevice.id, rotated.token)).not.toBe(0);
  });

  it('a service account rotated with the CLI loses its broker connection; API keys created and revoked take effect', async () => {
    const gateway = await E2eGateway.start({ engines: engines() });
    const oldToken = gateway.gateway.store.services.add('homeassistant').token;
    const ha = await connectMqtt(gateway.url('mqtt'), 'homeassistant', oldToken);
    expect((await cli(gateway, 'service', 'rotate', 'homeassistant')).code).toBe(0);
    const delay = await delaySince(Date.now(), ha.lost, 'the service connection dropped');
    expect(delay).toBeLessThan(PROPAGATION_LIMIT_MS);
    expect(await connackCode(gateway.url('mqtt'), 'homeassistant', oldToken)).not.toBe(0);

    const { key, id } = await cliJson<{ key: string; id: string }>(gateway, 'apikey', 'create');
    const devices = () => fetch(`http://127.0.0.1:${gateway.gateway.httpPort}/api/devices`, { headers: { authorization: `Bearer ${key}` } }).then((r) => r.status);
    expect(await devices()).toBe(200);
    expect((await cli(gateway, 'apikey', 'revoke', id)).code).toBe(0);
    expect(await devices()).toBe(401);
  });
});

describe('changes from the CLI with an external Mosquitto whose password file the gateway keeps', { timeout: 120_000 }, () => {
  it('a device added by the CLI can log in within about 2 s; a removed one is dropped by the broker and its session ends', async () => {
    const dir = tempDir();
    const dataDir = path.join(dir, 'data');
    const store = openStore(dataDir);
    const kitchen = store.devices.add('kitchen-1');
    store.close();
    const includeFile = path.join(dir, 'logins.passwd');
    execFileSync(requireProgram('mosquitto_passwd', 'mosquitto'), ['-c', '-b', includeFile, 'voxgate-gateway', 'gateway-secret']);
    // The broker starts knowing only the gateway; the gateway writes the devices in when it starts.
    mosquitto = await startMosquitto(readFileSync(includeFile, 'utf8'), documentedAcl('main'));
    const gateway = await E2eGateway.start({
      dataDir,
      engines: engines(),
      overrides: {
        mqttUrl: mosquitto.url,
        mqttUsername: 'voxgate-gateway',
        mqttPassword: 'gateway-secret',
        'transport.mosquittoPasswordFile': mosquitto.passwordFile,
        'transport.mosquittoIncludeFile': includeFile,
        'transport.mosquittoPidFile': mosquitto.pidFile,
      },
    });
    const url = mosquitto.url;
    await eventually(async () => (await connackCode(url, 'kitchen-1', kitchen.token)) === 0, 'kitchen-1 accepted after the start');
    const will = { topic: topics.upCtrl('kitchen-1'), payload: Buffer.from(JSON.stringify({ type: 'goodbye', reason: 'lost' })), qos: 1 as const, retain: false };
    const device = await mqtt.connectAsync(url, { username: 'kitchen-1', password: kitchen.token, protocolVersion: 4, reconnectPeriod: 0, will });
    clients.push({ close: () => device.endAsync(true) });
    let dropped = false;
    device.on('close', () => (dropped = true));
    const downlink: string[] = [];
    device.on('message', (_topic, payload) => downlink.push(payload.toString()));
    await device.subscribeAsync(topics.downCtrl('kitchen-1'), { qos: 1 });
    await device.publishAsync(topics.upCtrl('kitchen-1'), JSON.stringify({ type: 'hello', version: 1, transport: 'mqtt', audio_params: { format: 'pcm16', sample_rate: 16000, channels: 1, frame_duration: 60 } }), { qos: 1 });
    await eventually(() => downlink.some((m) => m.includes('"hello"')), 'the session hello');

    const added = await cliJson<{ token: string }>(gateway, 'device', 'add', 'desk-2');
    const addDelay = await delaySince(Date.now(), async () => (await connackCode(url, 'desk-2', added.token)) === 0, 'desk-2 accepted by Mosquitto');

    expect((await cli(gateway, 'device', 'remove', 'kitchen-1')).code).toBe(0);
    const since = Date.now();
    const dropDelay = await delaySince(since, () => dropped, 'the broker dropping the removed device');
    await eventually(() => !gateway.gateway.sessions.connectedDevices().some((d) => d.deviceId === 'kitchen-1'), 'the session ended');
    console.info(`[registry-changes] external Mosquitto: CLI add → login accepted: ${addDelay} ms; remove → connection dropped: ${dropDelay} ms`);
    expect(addDelay).toBeLessThan(PROPAGATION_LIMIT_MS);
    expect(dropDelay).toBeLessThan(PROPAGATION_LIMIT_MS);
    expect(await connackCode(url, 'kitchen-1', kitchen.token)).toBe(5);
  });

  it('without the password file, a device removed by the CLI still loses its session and is not served again', async () => {
    const dataDir = path.join(tempDir(), 'data');
    const store = openStore(dataDir);
    const kitchen = store.devices.add('kitchen-1');
    store.close();
    mosquitto = await startMosquitto({ 'voxgate-gateway': 'gateway-secret', 'kitchen-1': kitchen.token, observer: 'observer' }, `${documentedAcl('main')}\nuser observer\ntopic read voxgate/+/availability\n`);
    const gateway = await E2eGateway.start({
      dataDir,
      engines: engines(),
      overrides: { mqttUrl: mosquitto.url, mqttUsername: 'voxgate-gateway', mqttPassword: 'gateway-secret' },
    });
    const observer = await connectMqtt(mosquitto.url, 'observer', 'observer');
    const availability: string[] = [];
    observer.on('message', (_topic, payload) => availability.push(payload.toString()));
    await observer.subscribeAsync(topics.availability('kitchen-1'), { qos: 1 });
    const device = await connectMqtt(mosquitto.url, 'kitchen-1', kitchen.token);
    const downlink: string[] = [];
    device.on('message', (_topic, payload) => downlink.push(payload.toString()));
    await device.subscribeAsync(topics.downCtrl('kitchen-1'), { qos: 1 });
    await device.publishAsync(topics.upCtrl('kitchen-1'), JSON.stringify(HELLO), { qos: 1 });
    await device.publishAsync(topics.upCtrl('kitchen-1'), JSON.stringify({ type: 'ping', id: 1 }), { qos: 1 });
    await eventually(() => downlink.includes(JSON.stringify({ type: 'pong', id: 1 })), 'the first pong');
    await eventually(() => availability.at(-1) === 'online', 'online');

    const marker = availability.length;
    expect((await cli(gateway, 'device', 'remove', 'kitchen-1')).code).toBe(0);
    // `offline` from the transport; the bridge then clears the removed wearable's retained topics ("").
    const delay = await delaySince(Date.now(), () => !gateway.gateway.sessions.connectedDevices().length && availability.slice(marker).includes('offline'), 'the session ended');
    expect(delay).toBeLessThan(PROPAGATION_LIMIT_MS);
    // The broker still lets it in (nobody edited its accounts), but the gateway no longer serves the id.
    await device.publishAsync(topics.upCtrl('kitchen-1'), JSON.stringify({ type: 'ping', id: 2 }), { qos: 1 });
    await eventually(() => gateway.lines(undefined, 'unregistered device id ignored').length, 'the unregistered id logged');
    expect(downlink).not.toContain(JSON.stringify({ type: 'pong', id: 2 }));
    expect(gateway.gateway.sessions.connectedDevices()).toEqual([]);
  });
});
