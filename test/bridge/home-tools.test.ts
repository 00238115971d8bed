/**
 * The home-control tools against a real (embedded, in-process) broker: devices announce
 * themselves with retained discovery configs, a fake device answers commands with its state.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EntityCatalog } from '../../gateway/bridge/entity-catalog.ts';
import { EntityAllowlist } from '../../gateway/bridge/entity-control.ts';
import { CONTROL_TOOL_NAME, createHomeTools, LIST_TOOL_NAME } from '../../gateway/bridge/home-tools.ts';
import type { Tool } from '../../gateway/brain/tools.ts';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../gateway/transport/embedded-broker.ts';
import { createCaptureLogger } from '../fakes/capture-logger.ts';
import { zigbee2mqttLight, zigbee2mqttSwitch, type FakeDeviceConfig } from './helpers/fake-zigbee2mqtt.ts';

let broker: EmbeddedBroker;
let catalog: EntityCatalog;
let tools: Record<string, Tool>;
const commands: Array<[string, string]> = [];

const context = () => ({ deviceId: 'kitchen-1', signal: new AbortController().signal });
const run = async (name: string, args: Record<string, unknown>) => String(await tools[name]!.execute(args, context()));

/** Plays a zigbee2mqtt device on the broker: stores its command, answers with its new state (unless `silent`). */
async function device(config: FakeDeviceConfig, options: { silent?: boolean } = {}) {
  await broker.publish(config.configTopic, JSON.stringify(config.config), { qos: 1, retain: true });
  const state: Record<string, unknown> = { state: 'OFF' };
  await broker.subscribe(config.commandTopic, (topic, payload) => {
    const text = payload.toString();
    commands.push([topic, text]);
    if (options.silent) return;
    const command = text.startsWith('{') ? (JSON.parse(text) as Record<string, unknown>) : { state: text };
    Object.assign(state, command);
    void broker.publish(config.stateTopic, JSON.stringify(state), { qos: 0 });
  });
  await broker.publish(config.stateTopic, JSON.stringify(state), { qos: 0 });
}

beforeEach(async () => {
  const logger = createCaptureLogger().logger;
  broker = await startEmbeddedBroker({ host: '127.0.0.1', port: 0, topicPrefix: 'voxgate', authenticate: () => false, logger });
  catalog = new EntityCatalog({ prefixes: ['homeassistant'], skipOrigin: 'voxgate', logger });
  await catalog.attach(broker);
  tools = Object.fromEntries(
    createHomeTools({
      catalog,
      allowlist: new EntityAllowlist(['light.*', 'switch.coffee_*']),
      bus: () => broker,
      confirmMs: 2_000,
      maxListed: 40,
      logger,
    }).map((t) => [t.name, t]),
  );
  commands.length = 0;
  await device(zigbee2mqttLight({ name: 'Kitchen light', objectId: 'kitchen_light' }));
  await device(zigbee2mqttLight({ name: 'Kitchen spots', objectId: 'kitchen_spots' }));
  await device(zigbee2mqttSwitch({ name: 'Coffee machine', objectId: 'coffee_machine' }), { silent: true });
  await device(zigbee2mqttSwitch({ name: 'Garage door', objectId: 'garage_door' }));
});

afterEach(async () => {
  catalog.detach();
  await broker.close();
});

describe('home tools', () => {
  it('say which change the home: listing is read-only (may run for a speculative reply), switching is not', () => {
    expect(tools[LIST_TOOL_NAME]!.sideEffects).toBe(false);
    expect(tools[CONTROL_TOOL_NAME]!.sideEffects).toBe(true);
  });

  it('list only what may be controlled, with states', async () => {
    const listed = JSON.parse(await run(LIST_TOOL_NAME, {})) as { devices: Array<Record<string, unknown>> };
    expect(listed.devices).toEqual([
      { entity_id: 'light.kitchen_light', name: 'Kitchen light', type: 'light', state: 'off', dimmable: true },
      { entity_id: 'light.kitchen_spots', name: 'Kitchen spots', type: 'light', state: 'off', dimmable: true },
      { entity_id: 'switch.coffee_machine', name: 'Coffee machine', type: 'switch', state: 'off' },
    ]);
    const kitchen = JSON.parse(await run(LIST_TOOL_NAME, { query: 'spots' })) as { devices: Array<{ entity_id: string }> };
    expect(kitchen.devices.map((d) => d.entity_id)).toEqual(['light.kitchen_spots']);
  });

  it('switch a light on at a brightness and report the confirmed state', async () => {
    expect(await run(CONTROL_TOOL_NAME, { device: 'kitchen light', state: 'on', brightness: 40 })).toBe('done: Kitchen light is now on at 40% brightness.');
    expect(commands).toEqual([['zigbee2mqtt/Kitchen light/set', '{"state":"ON","brightness":102}']]);
    expect(catalog.get('light.kitchen_light')).toMatchObject({ state: 'on', brightness: 40 });
    expect(await run(CONTROL_TOOL_NAME, { device: 'light.kitchen_light', state: 'off', brightness: 80 })).toBe('done: Kitchen light is now off.');
    expect(commands.at(-1)).toEqual(['zigbee2mqtt/Kitchen light/set', '{"state":"OFF"}']);
  });

  it('say when a device does not confirm, is ambiguous, unknown or not allowed (and then send nothing)', async () => {
    const fast = createHomeTools({
      catalog,
      allowlist: new EntityAllowlist(['*']),
      bus: () => broker,
      confirmMs: 100,
      maxListed: 40,
      logger: createCaptureLogger().logger,
    }).find((t) => t.name === CONTROL_TOOL_NAME)!;
    expect(await fast.execute({ device: 'coffee machine', state: 'on' }, context())).toBe('sent: asked Coffee machine to turn on, but it has not confirmed yet.');
    expect(commands).toEqual([['zigbee2mqtt/Coffee machine/set', 'ON']]);
    commands.length = 0;
    expect(await run(CONTROL_TOOL_NAME, { device: 'kitchen', state: 'on' })).toBe(
      'ambiguous: "kitchen" could be Kitchen light (light.kitchen_light), Kitchen spots (light.kitchen_spots). Ask which one.',
    );
    expect(await run(CONTROL_TOOL_NAME, { device: 'bedroom lamp', state: 'on' })).toBe('not found: no light or switch called "bedroom lamp" is known.');
    expect(await run(CONTROL_TOOL_NAME, { device: 'garage door', state: 'on' })).toBe(
      'refused: Garage door (switch.garage_door) is not on the list of devices voxgate may control. Nothing was changed.',
    );
    await expect(tools[CONTROL_TOOL_NAME]!.execute({ device: 'coffee machine', state: 'on', brightness: 20 }, context())).rejects.toThrow(/cannot be dimmed/);
    expect(commands).toEqual([]);
  });

  it('forget a device whose config is removed, and follow one that changes', async () => {
    await broker.publish(zigbee2mqttLight({ name: 'Kitchen spots', objectId: 'kitchen_spots' }).configTopic, '', { qos: 1, retain: true });
    expect(catalog.get('light.kitchen_spots')).toBeUndefined();
    expect(await run(CONTROL_TOOL_NAME, { device: 'kitchen', state: 'on' })).toBe('done: Kitchen light is now on.');
  });
});
