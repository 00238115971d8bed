/**
 * What only the embedded broker does for Home Assistant: its login (`voxgate service add`) and
 * ACL, and in-process subscribers getting retained messages; plus the `ha_conversation` mode.
 */
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, type CliIo } from '../../gateway/cli/program.ts';
import type { GatewayMessage } from '../../protocol/index.ts';
import { startEmbeddedBroker } from '../../gateway/transport/embedded-broker.ts';
import { createCaptureLogger } from '../fakes/capture-logger.ts';
import { useTempDirs } from '../helpers/temp-dir.ts';
import { eventually } from '../transport/helpers.ts';
import { connackCode, rawSuback } from '../transport/mqtt-clients.ts';
import { BRIDGE } from './bridge-suite.ts';
import { BridgeWorld, closeAll } from './helpers/bridge-world.ts';

const tempDir = useTempDirs('bridge-embedded-only');
afterEach(closeAll);

function cliIo(dataDir: string) {
  let out = '';
  let err = '';
  const io: CliIo = { env: { VOXGATE_DATA_DIR: dataDir }, stdout: (t) => void (out += t), stderr: (t) => void (err += t) };
  return { io, out: () => out, err: () => err };
}

describe('Home Assistant’s account on the embedded broker', () => {
  it('may use what Home Assistant needs and nothing of the wearables’ topics', async () => {
    const w = await BridgeWorld.start('embedded', tempDir());
    const ha = await w.connectHa();
    expect(await rawSuback(ha.client, 'homeassistant/#')).toEqual([1]);
    expect(await rawSuback(ha.client, `${BRIDGE}/#`)).toEqual([1]);
    expect(await rawSuback(ha.client, 'voxgate/+/availability')).toEqual([1]);
    expect(await rawSuback(ha.client, 'voxgate/#')).toEqual([128]);
    expect(await rawSuback(ha.client, 'voxgate/kitchen-1/up/audio')).toEqual([128]);
    expect(await rawSuback(ha.client, '#')).toEqual([128]);

    // A forged message to a wearable is dropped: the wearable only ever hears the gateway.
    const sim = await w.connectWearable();
    const heard: GatewayMessage[] = [];
    sim.on('message', (m) => heard.push(m));
    await ha.publish('voxgate/kitchen-1/down/ctrl', JSON.stringify({ type: 'tts', state: 'start', session_id: sim.sessionId, turn: 99 }));
    await sim.ping(); // answered after the forged message would have arrived
    expect(heard.map((m) => m.type)).toEqual(['pong']);

    // Wrong password: refused; a device token is not a service login either.
    expect(await connackCode(w.mqttUrl, 'homeassistant', 'wrong-token')).toBe(4);
    expect(await connackCode(w.mqttUrl, 'homeassistant', w.wearable.token)).toBe(4);
  });

  it('`voxgate service add` issues a login that works at once; `service remove` ends it', async () => {
    const w = await BridgeWorld.start('embedded', tempDir());
    const add = cliIo(w.config.dataDir);
    expect(await runCli(['service', 'add', 'ha-kitchen', '--json'], add.io)).toBe(0);
    const issued = JSON.parse(add.out()) as { name: string; username: string; token: string };
    expect(issued).toMatchObject({ name: 'ha-kitchen', username: 'ha-kitchen' });
    const client = await mqtt.connectAsync(w.mqttUrl, { username: 'ha-kitchen', password: issued.token, reconnectPeriod: 0, protocolVersion: 4 });
    const retained: string[] = [];
    client.on('message', (topic, payload) => topic.endsWith('/config') && retained.push(payload.toString()));
    expect(await rawSuback(client, 'homeassistant/device/+/config')).toEqual([1]);
    await eventually(() => retained.length > 0, 'the retained discovery config');
    await client.endAsync(true);

    const human = cliIo(w.config.dataDir);
    expect(await runCli(['service', 'add', 'another'], human.io)).toBe(0);
    expect(human.out()).toMatch(/username: another/);
    expect(human.out()).toMatch(/password: \S{43}/);
    const list = cliIo(w.config.dataDir);
    expect(await runCli(['service', 'list', '--json'], list.io)).toBe(0);
    expect((JSON.parse(list.out()) as Array<{ name: string }>).map((a) => a.name)).toEqual(['another', 'ha-kitchen', 'homeassistant', 'zigbee2mqtt']);
    expect(await runCli(['service', 'remove', 'ha-kitchen'], cliIo(w.config.dataDir).io)).toBe(0);
    expect(await connackCode(w.mqttUrl, 'ha-kitchen', issued.token)).toBe(4);
    const missing = cliIo(w.config.dataDir);
    expect(await runCli(['service', 'remove', 'ha-kitchen'], missing.io)).toBe(1);
    expect(missing.err()).toMatch(/no service account named "ha-kitchen"/);
  });
});

describe('embedded broker: in-process subscribers', () => {
  it('get the retained messages published before they subscribed (as a network client would)', async () => {
    const broker = await startEmbeddedBroker({
      host: '127.0.0.1',
      port: 0,
      topicPrefix: 'voxgate',
      authenticate: () => false,
      logger: createCaptureLogger().logger,
    });
    try {
      await broker.publish('homeassistant/light/x/config', '{"command_topic":"x/set"}', { qos: 1, retain: true });
      const got: Array<[string, string, boolean]> = [];
      await broker.subscribe('homeassistant/+/+/config', (topic, payload, retained) => got.push([topic, payload.toString(), retained]));
      expect(got).toEqual([['homeassistant/light/x/config', '{"command_topic":"x/set"}', true]]);
      await broker.publish('homeassistant/light/y/config', '{}', { qos: 1, retain: true });
      expect(got.at(-1)).toEqual(['homeassistant/light/y/config', '{}', false]);
    } finally {
      await broker.close();
    }
  });
});

describe('mode ha_conversation: Home Assistant’s conversation agent answers first', () => {
  it('speaks HA’s answer; what HA does not handle goes to the language model', async () => {
    const w = await BridgeWorld.start('embedded', tempDir(), { bridge: { mode: 'ha_conversation' } });
    const ha = await w.connectHa();
    // Home Assistant's automation (homeassistant-conversation.yaml), played by the test.
    const requests: Array<Record<string, unknown>> = [];
    ha.client.on('message', (topic, payload) => {
      if (topic !== 'voxgate-bridge/gateway/conversation/request') return;
      const request = JSON.parse(payload.toString()) as Record<string, unknown>;
      requests.push(request);
      const handled = String(request.text).includes('light');
      const answer = handled ? { id: request.id, speech: 'Turned on the kitchen light.', handled: true } : { id: request.id, speech: 'Sorry, I couldn’t understand that', handled: false };
      void ha.publish('voxgate-bridge/gateway/conversation/response', JSON.stringify(answer));
    });
    await ha.subscribe('voxgate-bridge/gateway/conversation/request');
    const sim = await w.connectWearable();

    const first = await sim.typed('turn on the kitchen light');
    expect(first.sentences).toEqual(['Turned on the kitchen light.']);
    expect(requests[0]).toMatchObject({ device: 'kitchen-1', text: 'turn on the kitchen light', conversation_id: expect.stringMatching(/^voxgate-kitchen-1-/) });
    expect(w.groq.chat.requests).toHaveLength(0);

    w.groq.chat.enqueue({ type: 'text', text: 'Why did the bulb blush? It saw the switch.' });
    const second = await sim.typed('tell me a joke');
    expect(requests).toHaveLength(2);
    expect(second.sentences).toEqual(['Why did the bulb blush?', 'It saw the switch.']);
    expect(w.groq.chat.requests).toHaveLength(1);
    expect(requests[1]!.conversation_id).toBe(requests[0]!.conversation_id);
  });

  it('when Home Assistant does not answer in time the wearable still gets a complete turn', async () => {
    const w = await BridgeWorld.start('embedded', tempDir(), { bridge: { mode: 'ha_conversation', conversationTimeoutMs: 300 } });
    const sim = await w.connectWearable();
    const turn = await sim.typed('turn on the kitchen light');
    expect(turn.errors.map((e) => e.code)).toEqual(['llm_unavailable']);
    expect(turn.stopReason).toBe('error');
  });
});
