/**
 * What Home Assistant sees of voxgate, as an MQTT client with Home Assistant's credentials:
 * the same scenarios run on the embedded broker and on a real Mosquitto.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SimDevice } from '../../device-sim/index.ts';
import type { GatewayMessage } from '../../protocol/index.ts';
import { openStore } from '../../gateway/store/index.ts';
import { useTempDirs } from '../helpers/temp-dir.ts';
import { eventually } from '../transport/helpers.ts';
import { BridgeWorld, closeAll, speechClip, type BrokerKind, type HaClient, type WorldOptions } from './helpers/bridge-world.ts';
import { zigbee2mqttLight, zigbee2mqttSwitch } from './helpers/fake-zigbee2mqtt.ts';
import { checkDeviceDiscovery } from './helpers/ha-discovery-schema.ts';

export const CONFIG = 'homeassistant/device/voxgate_kitchen-1/config';
export const BRIDGE = 'voxgate-bridge/kitchen-1';
export const AVAILABILITY = 'voxgate/kitchen-1/availability';

type TtsFields = { state: string; text?: string; reason?: string; turn?: number };
const isTts = (state: string, extra: (m: TtsFields) => boolean = () => true) => (m: GatewayMessage) =>
  m.type === 'tts' && m.state === state && extra(m as TtsFields);

/** Every control message a simulated wearable receives, from the moment it exists. */
function recordMessages(sim: SimDevice): GatewayMessage[] {
  const messages: GatewayMessage[] = [];
  sim.on('message', (m) => messages.push(m));
  return messages;
}

/**
 * Returns once the bridge has handled everything published to the broker before this call:
 * a mute command travels the same broker connection to the gateway after those messages, and
 * the bridge answers each with a state it publishes. A wearable of its own keeps the mute (which
 * drops queued announcements) away from the ones under test.
 */
export async function syncWithBridge(w: BridgeWorld, ha: HaClient): Promise<void> {
  const probe = 'sync-probe';
  if (!w.gateway.store.devices.get(probe)) w.gateway.store.devices.add(probe);
  const state = `voxgate-bridge/${probe}/mute`;
  await ha.subscribe(state);
  for (const value of ['ON', 'OFF']) {
    const seen = ha.on(state).length;
    await ha.publish(`voxgate-bridge/${probe}/mute/set`, value);
    await ha.waitFor(state, (r) => r.text === value, `mute ${value}`, seen);
  }
}

/** The last non-empty payload a client saw on a topic. */
function added(ha: HaClient): string {
  return ha.received.filter((r) => r.topic.endsWith('/config') && r.text.length > 0).at(-1)!.text;
}

export function describeBridge(kind: BrokerKind): void {
  const tempDir = useTempDirs(`bridge-${kind}`);
  const start = (options: WorldOptions = {}) => BridgeWorld.start(kind, tempDir(), options);
  afterEach(closeAll);

  describe(`Home Assistant discovery (${kind} broker)`, () => {
    it('publishes each registered wearable: retained, QoS 1, a device config HA accepts; offline until it connects', async () => {
      const w = await start();
      const ha = await w.connectHa();
      await ha.subscribe('homeassistant/device/+/config', AVAILABILITY, 'voxgate/gateway/state');
      const config = await ha.waitFor(CONFIG, (r) => r.text.length > 0);
      expect([config.retain, config.qos]).toEqual([true, 1]);
      const payload = JSON.parse(config.text) as Record<string, any>;
      expect(checkDeviceDiscovery(payload)).toEqual([]);
      expect(payload.dev).toMatchObject({ ids: ['voxgate_kitchen-1'], name: 'Kitchen wearable' });
      expect(payload.o).toEqual({ name: 'voxgate' });
      expect(Object.keys(payload.cmps)).toEqual(
        expect.arrayContaining(['battery', 'signal', 'listening', 'last_transcript', 'last_reply', 'button', 'button_press', 'announce', 'stop_speaking', 'mute']),
      );
      expect(payload.cmps.battery.default_entity_id).toBe('sensor.voxgate_kitchen_1_battery');
      expect((await ha.waitFor(AVAILABILITY)).text).toBe('offline');
      expect((await ha.waitFor('voxgate/gateway/state')).text).toBe('online');
      expect(await eventually(() => ha.retained(`${BRIDGE}/mute`), 'the mute state')).toBe('OFF');
    });

    it('publishes a wearable added while running, and clears a removed one (config and states)', async () => {
      const w = await start();
      const ha = await w.connectHa();
      const hall = 'homeassistant/device/voxgate_hall-2/config';
      await ha.subscribe('homeassistant/device/+/config');
      w.gateway.store.devices.add('hall-2', 'Hall wearable');
      const added = await ha.waitFor(hall, (r) => r.text.length > 0);
      expect(JSON.parse(added.text).dev.name).toBe('Hall wearable');
      expect(await eventually(() => ha.retained('voxgate-bridge/hall-2/mute'), 'mute state of the new wearable')).toBe('OFF');

      w.gateway.store.devices.remove('hall-2');
      const cleared = await ha.waitFor(hall, (r) => r.text === '', 'the cleared config');
      expect(cleared.qos).toBe(1);
      expect(await ha.retained(hall)).toBeUndefined();
      expect(await ha.retained('voxgate-bridge/hall-2/mute')).toBeUndefined();
      expect(await ha.retained('voxgate/hall-2/availability')).toBeUndefined();
      expect(await ha.retained(CONFIG)).toBeTruthy(); // the other wearable stays
    });

    it('publishes a wearable registered by another process when it first connects', async () => {
      const w = await start();
      const ha = await w.connectHa();
      await ha.subscribe('homeassistant/device/+/config');
      await ha.waitFor(CONFIG, (r) => r.text.length > 0);
      const other = openStore(w.config.dataDir); // as `voxgate device add` does, in its own process
      const issued = other.devices.add('porch-3', 'Porch wearable');
      other.close();
      // Over WebSocket on Mosquitto: the gateway checks the token itself there.
      await w.connectWearable({ id: 'porch-3', token: issued.token });
      const config = await ha.waitFor('homeassistant/device/voxgate_porch-3/config', (r) => r.text.length > 0);
      expect(checkDeviceDiscovery(JSON.parse(config.text))).toEqual([]);
    });

    it('notices wearables added or removed by another process within the resync interval', async () => {
      const w = await start({ bridge: { registryResyncMs: 100 } });
      const ha = await w.connectHa();
      await ha.subscribe('homeassistant/device/+/config');
      await ha.waitFor(CONFIG, (r) => r.text.length > 0);
      const other = openStore(w.config.dataDir);
      other.devices.add('attic-4', 'Attic wearable');
      await ha.waitFor('homeassistant/device/voxgate_attic-4/config', (r) => r.text.length > 0, 'the config of the new wearable');
      other.devices.remove('attic-4');
      other.close();
      await ha.waitFor('homeassistant/device/voxgate_attic-4/config', (r) => r.text === '', 'the cleared config');
    });

    it('clears, on start, the config of a wearable removed while the gateway was down', async () => {
      const w = await start();
      w.gateway.store.devices.add('shed-5', 'Shed wearable');
      const shed = 'homeassistant/device/voxgate_shed-5/config';
      const ha = await w.connectHa();
      await ha.subscribe(shed);
      await ha.waitFor(shed, (r) => r.text.length > 0);
      await w.gateway.stop();
      const other = openStore(w.config.dataDir);
      other.devices.remove('shed-5');
      other.close();
      if (kind === 'embedded') {
        // The embedded broker forgets retained messages when it stops: play the broker that kept it.
        await ha.close();
      }
      await w.restart();
      const again = kind === 'embedded' ? await w.connectHa() : ha;
      if (kind === 'embedded') {
        await again.subscribe(shed);
        await again.publish(shed, added(ha), true);
      }
      await again.waitFor(shed, (r) => r.text === '', 'the stale config cleared');
      expect(await again.retained(shed)).toBeUndefined();
      expect(await again.retained(CONFIG)).toBeTruthy();
    });

    it('a restart publishes discovery again, and Home Assistant’s birth re-publishes configs, then states', async () => {
      const w = await start();
      const ha = await w.connectHa();
      await ha.subscribe(CONFIG, `${BRIDGE}/mute`);
      await ha.waitFor(CONFIG, (r) => r.text.length > 0);
      await ha.waitForText(`${BRIDGE}/mute`, 'OFF');

      // HA restarts: its birth message. Configs come again (live), before the states.
      const marker = ha.received.length;
      await ha.publish('homeassistant/status', 'online');
      await eventually(() => ha.received.slice(marker).some((r) => r.topic === `${BRIDGE}/mute`), 'states re-published after the birth');
      const after = ha.received.slice(marker);
      const configAt = after.findIndex((r) => r.topic === CONFIG && r.text.length > 0);
      expect(configAt).toBeGreaterThanOrEqual(0);
      expect(configAt).toBeLessThan(after.findIndex((r) => r.topic === `${BRIDGE}/mute`));

      // The broker forgets the config (here: HA deletes it), then voxgate restarts: it is back.
      await ha.publish(CONFIG, '', true);
      expect(await ha.retained(CONFIG)).toBeUndefined();
      await ha.close();
      await w.restart();
      const again = await w.connectHa();
      const config = await eventually(() => again.retained(CONFIG), 'the config after the restart');
      expect(checkDeviceDiscovery(JSON.parse(config))).toEqual([]);
    });
  });

  describe(`wearable states (${kind} broker)`, () => {
    it('availability, battery, charging, signal, button events and triggers, listening, transcript and reply', async () => {
      const w = await start();
      const ha = await w.connectHa();
      await ha.subscribe(AVAILABILITY, `${BRIDGE}/#`);
      await ha.waitForText(AVAILABILITY, 'offline');
      const sim = await w.connectWearable();
      await ha.waitForText(AVAILABILITY, 'online');
      await ha.waitForText(`${BRIDGE}/activity`, 'idle');

      await sim.status({ battery: 87, charging: true, rssi: -61 });
      await ha.waitForText(`${BRIDGE}/battery`, '87');
      await ha.waitForText(`${BRIDGE}/charging`, 'ON');
      await ha.waitForText(`${BRIDGE}/signal`, '-61');
      expect(ha.on(`${BRIDGE}/battery`).at(-1)!.qos).toBe(1);

      await sim.button('double_press');
      const event = await ha.waitFor(`${BRIDGE}/button`);
      expect(JSON.parse(event.text)).toEqual({ event_type: 'double_press' });
      expect((await ha.waitFor(`${BRIDGE}/button/action`)).text).toBe('double_press');
      expect(await ha.retained(`${BRIDGE}/button`)).toBeUndefined(); // an event, never retained

      w.groq.chat.enqueue({ type: 'text', text: 'It is sunny today.' });
      const turn = await sim.talk(await speechClip(1.2));
      expect(turn.stopReason).toBe('done');
      const listening = ha.on(`${BRIDGE}/listening`).map((r) => r.text);
      expect(listening.indexOf('ON')).toBeGreaterThanOrEqual(0);
      expect(listening.lastIndexOf('OFF')).toBeGreaterThan(listening.indexOf('ON'));
      const transcript = await ha.waitForText(`${BRIDGE}/transcript`, turn.final!);
      expect(transcript.retain || transcript.qos === 1).toBe(true);
      const attributes = JSON.parse((await ha.waitFor(`${BRIDGE}/transcript/attributes`)).text);
      expect(attributes).toMatchObject({ text: turn.final, turn: turn.turn });
      await ha.waitForText(`${BRIDGE}/reply`, 'It is sunny today.');
      expect(ha.on(`${BRIDGE}/activity`).map((r) => r.text)).toEqual(expect.arrayContaining(['listening', 'thinking', 'speaking', 'idle']));

      await sim.close();
      await ha.waitForText(AVAILABILITY, 'offline');
    });
  });

  describe(`Home Assistant → wearable (${kind} broker)`, () => {
    it('a notify message is spoken at once; one sent while the wearable sleeps is spoken when it connects', async () => {
      const w = await start();
      const ha = await w.connectHa();
      const sim = await w.connectWearable();
      const heard = recordMessages(sim);
      let audio = 0;
      sim.on('audio', () => audio++);
      await ha.publish(`${BRIDGE}/notify/set`, 'Dinner is ready.');
      await eventually(() => heard.find(isTts('stop')), 'the announcement');
      expect(heard.filter((m) => m.type === 'tts').map((m) => (m as TtsFields).state)).toEqual(['start', 'sentence_start', 'stop']);
      expect(heard.find(isTts('sentence_start'))).toMatchObject({ text: 'Dinner is ready.' });
      expect(heard.find(isTts('stop'))).toMatchObject({ reason: 'done' });
      expect(audio).toBeGreaterThan(0);

      await sim.close();
      await ha.subscribe(AVAILABILITY);
      await ha.waitForText(AVAILABILITY, 'offline');
      await ha.publish(`${BRIDGE}/notify/set`, 'The laundry is done.');
      await syncWithBridge(w, ha);
      let later: GatewayMessage[] = [];
      const again = await w.connectWearable(w.wearable, (s) => (later = recordMessages(s)));
      await eventually(() => later.find(isTts('stop')), 'the queued announcement');
      expect(later.filter(isTts('sentence_start')).map((m) => (m as TtsFields).text)).toEqual(['The laundry is done.']);
      expect(later.find(isTts('stop'))).toMatchObject({ reason: 'done' });
      await again.close();
    });

    it('mute drops announcements; stop speaking cuts one short', async () => {
      const w = await start();
      const ha = await w.connectHa();
      const sim = await w.connectWearable();
      const heard = recordMessages(sim);
      await ha.subscribe(`${BRIDGE}/mute`);
      await ha.publish(`${BRIDGE}/mute/set`, 'ON');
      await ha.waitForText(`${BRIDGE}/mute`, 'ON');
      await ha.publish(`${BRIDGE}/notify/set`, 'You will not hear this.');
      await ha.publish(`${BRIDGE}/mute/set`, 'OFF');
      await ha.waitForText(`${BRIDGE}/mute`, 'OFF');
      expect(w.gateway.store.devices.get('kitchen-1')!.settings.muted).toBeUndefined();
      await ha.publish(`${BRIDGE}/notify/set`, 'You hear this.');
      await eventually(() => heard.find(isTts('stop')), 'the unmuted announcement');
      expect(heard.filter(isTts('sentence_start')).map((m) => (m as TtsFields).text)).toEqual(['You hear this.']);

      const long = [
        'This announcement goes on for a while.',
        'It has one sentence after another.',
        'Somebody in the house will press stop.',
        'Nobody should ever hear this last sentence.',
      ];
      const before = heard.length;
      await ha.publish(`${BRIDGE}/notify/set`, long.join(' '));
      await eventually(() => heard.slice(before).find(isTts('sentence_start', (m) => m.text === long[0])), 'the long announcement');
      await ha.publish(`${BRIDGE}/stop/set`, 'PRESS');
      const stop = await eventually(() => heard.slice(before).find(isTts('stop')), 'its tts stop');
      expect(stop).toMatchObject({ reason: 'aborted' });
      expect(heard.filter(isTts('sentence_start')).map((m) => (m as TtsFields).text)).not.toContain(long[3]);
    });
  });

  describe(`voice control of home devices (${kind} broker)`, () => {
    it('"turn on the kitchen light" switches a zigbee2mqtt light, and the reply says so', async () => {
      const w = await start({ stt: { transcript: 'turn on the kitchen light' } });
      const z2m = await w.connectZigbee2mqtt();
      const light = await z2m.add(zigbee2mqttLight({ name: 'Kitchen light', objectId: 'kitchen_light' }));
      const ha = await w.connectHa();
      await syncWithBridge(w, ha); // the gateway has read the light's discovery config
      w.groq.chat.enqueue(
        { type: 'tool_calls', calls: [{ name: 'control_home_device', arguments: { device: 'kitchen light', state: 'on' } }] },
        { type: 'text', text: 'Done, the kitchen light is on.' },
      );
      await ha.subscribe(`${BRIDGE}/reply`);
      const sim = await w.connectWearable();
      const turn = await sim.talk(await speechClip(1.5));

      expect(turn.final).toBe('turn on the kitchen light');
      expect(light.commands).toEqual([{ state: 'ON' }]);
      expect(light.state.state).toBe('ON');
      const [asked, answered] = w.groq.chat.requests;
      expect((asked!.body.tools as Array<{ function: { name: string } }>).map((t) => t.function.name)).toEqual(
        expect.arrayContaining(['list_home_devices', 'control_home_device']),
      );
      const toolResult = (answered!.body.messages as Array<{ role: string; content: string }>).find((m) => m.role === 'tool');
      expect(toolResult!.content).toBe('done: Kitchen light is now on.');
      expect(turn.sentences).toEqual(['Done, the kitchen light is on.']);
      expect(turn.stopReason).toBe('done');
      await ha.waitForText(`${BRIDGE}/reply`, 'Done, the kitchen light is on.');
    });

    it('an entity outside the allowlist is refused and left alone', async () => {
      const w = await start({ bridge: { allowEntities: ['light.*'] } });
      const z2m = await w.connectZigbee2mqtt();
      const garage = await z2m.add(zigbee2mqttSwitch({ name: 'Garage door', objectId: 'garage_door' }));
      const ha = await w.connectHa();
      await syncWithBridge(w, ha);
      w.groq.chat.enqueue(
        { type: 'tool_calls', calls: [{ name: 'control_home_device', arguments: { device: 'garage door', state: 'on' } }] },
        { type: 'text', text: 'Sorry, I am not allowed to open the garage door.' },
      );
      const sim = await w.connectWearable();
      const turn = await sim.typed('open the garage door');
      const toolResult = (w.groq.chat.requests[1]!.body.messages as Array<{ role: string; content: string }>).find((m) => m.role === 'tool');
      expect(toolResult!.content).toMatch(/^refused: Garage door \(switch\.garage_door\) is not on the list of devices voxgate may control/);
      expect(turn.sentences).toEqual(['Sorry, I am not allowed to open the garage door.']);
      expect(garage.commands).toEqual([]);
      expect(garage.state.state).toBe('OFF');
    });
  });
}
