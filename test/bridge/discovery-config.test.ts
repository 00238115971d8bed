import { describe, expect, it } from 'vitest';
import { readDiscoveryConfig, templateKey, type HomeEntity } from '../../gateway/bridge/discovery-config.ts';
import { commandsFor, EntityAllowlist, resolveEntity } from '../../gateway/bridge/entity-control.ts';
import { zigbee2mqttLight, zigbee2mqttSwitch } from './helpers/fake-zigbee2mqtt.ts';

function entities(topic: string, payload: unknown): HomeEntity[] {
  const reading = readDiscoveryConfig('homeassistant', topic, typeof payload === 'string' ? payload : JSON.stringify(payload), 'voxgate');
  if (reading.kind !== 'entities') throw new Error(`expected entities, got ${JSON.stringify(reading)}`);
  return reading.entities;
}

describe('reading discovery configs of other integrations', () => {
  it('a zigbee2mqtt light (JSON schema, brightness 254)', () => {
    const light = zigbee2mqttLight({ name: 'Kitchen light', objectId: 'kitchen_light' });
    const [entity] = entities(light.configTopic, light.config);
    expect(entity).toMatchObject({
      entityId: 'light.kitchen_light',
      name: 'Kitchen light',
      domain: 'light',
      schema: 'json',
      commandTopic: 'zigbee2mqtt/Kitchen light/set',
      stateTopic: 'zigbee2mqtt/Kitchen light',
      stateKey: 'state',
      dimmer: { scale: 254, stateKey: 'brightness' },
    });
    expect(commandsFor(entity!, { on: true })).toEqual([{ topic: 'zigbee2mqtt/Kitchen light/set', payload: '{"state":"ON"}', qos: 0, retain: false }]);
    expect(commandsFor(entity!, { on: true, brightness: 50 })[0]!.payload).toBe('{"state":"ON","brightness":127}');
    expect(commandsFor(entity!, { on: false })[0]!.payload).toBe('{"state":"OFF"}');
  });

  it('a zigbee2mqtt switch (default schema, value_template on the JSON state)', () => {
    const plug = zigbee2mqttSwitch({ name: 'Coffee machine', objectId: 'coffee_machine' });
    const [entity] = entities(plug.configTopic, plug.config);
    expect(entity).toMatchObject({ entityId: 'switch.coffee_machine', schema: 'default', stateKey: 'state', stateOn: 'ON', stateOff: 'OFF' });
    expect(commandsFor(entity!, { on: true })).toEqual([{ topic: 'zigbee2mqtt/Coffee machine/set', payload: 'ON', qos: 0, retain: false }]);
    expect(() => commandsFor(entity!, { on: true, brightness: 30 })).toThrow(/cannot be dimmed/);
  });

  it('abbreviations, the ~ base, default-schema brightness and a device-based config with shared options', () => {
    const abbreviated = entities('homeassistant/light/hall/config', {
      '~': 'tasmota/hall',
      uniq_id: 'hall_1',
      name: 'Hall',
      cmd_t: '~/cmnd/POWER',
      stat_t: '~/stat/POWER',
      pl_on: '1',
      pl_off: '0',
      bri_cmd_t: '~/cmnd/Dimmer',
      bri_scl: 100,
      dev: { ids: ['hall'], name: 'Hall lamp' },
    });
    expect(abbreviated[0]).toMatchObject({
      entityId: 'light.hall_lamp_hall',
      name: 'Hall lamp Hall',
      commandTopic: 'tasmota/hall/cmnd/POWER',
      stateTopic: 'tasmota/hall/stat/POWER',
      payloadOn: '1',
      stateOn: '1',
      dimmer: { commandTopic: 'tasmota/hall/cmnd/Dimmer', scale: 100 },
    });
    expect(commandsFor(abbreviated[0]!, { on: true, brightness: 40 }).map((c) => [c.topic, c.payload])).toEqual([
      ['tasmota/hall/cmnd/POWER', '1'],
      ['tasmota/hall/cmnd/Dimmer', '40'],
    ]);

    const device = entities('homeassistant/device/porch/config', {
      dev: { ids: 'porch', name: 'Porch' },
      o: { name: 'other2mqtt' },
      stat_t: 'porch/state',
      qos: 1,
      cmps: {
        lamp: { p: 'light', uniq_id: 'porch_lamp', name: 'Lamp', cmd_t: 'porch/lamp/set', def_ent_id: 'light.porch_lamp' },
        fan: { p: 'switch', uniq_id: 'porch_fan', name: 'Fan', cmd_t: 'porch/fan/set', val_tpl: "{{ value_json['fan'] }}" },
        temp: { p: 'sensor', uniq_id: 'porch_t', state_topic: 'porch/t' },
      },
    });
    expect(device.map((e) => [e.entityId, e.name, e.stateTopic, e.stateKey, e.qos])).toEqual([
      ['light.porch_lamp', 'Porch Lamp', 'porch/state', undefined, 1],
      ['switch.porch_fan', 'Porch Fan', 'porch/state', 'fan', 1],
    ]);
  });

  it('skips what it cannot drive, its own wearables, removals and garbage', () => {
    expect(entities('homeassistant/light/x/config', { schema: 'template', command_topic: 'x/set', command_on_template: 'on' })).toEqual([]);
    expect(entities('homeassistant/sensor/x/config', { state_topic: 'x' })).toEqual([]);
    expect(entities('homeassistant/switch/x/config', { command_topic: 'x/+/set' })).toEqual([]);
    const ours = readDiscoveryConfig('homeassistant', 'homeassistant/device/voxgate_a/config', JSON.stringify({ o: { name: 'voxgate' }, cmps: {} }), 'voxgate');
    expect(ours).toEqual({ kind: 'ignored', reason: 'our own config' });
    expect(readDiscoveryConfig('homeassistant', 'homeassistant/light/x/config', '', 'voxgate')).toEqual({ kind: 'removed' });
    expect(readDiscoveryConfig('homeassistant', 'homeassistant/light/x/config', '{nope', 'voxgate').kind).toBe('ignored');
    expect(readDiscoveryConfig('homeassistant', 'homeassistant/status', 'online', 'voxgate').kind).toBe('ignored');
    const unreadable = entities('homeassistant/switch/y/config', { command_topic: 'y/set', state_topic: 'y', value_template: '{{ value | upper }}' });
    expect(unreadable[0]!.stateUnreadable).toBe(true);
  });

  it('templateKey reads only the plain value_json forms', () => {
    expect(templateKey('{{ value_json.state }}')).toBe('state');
    expect(templateKey("{{value_json['power']}}")).toBe('power');
    expect(templateKey('{{ value_json.state | lower }}')).toBeNull();
  });
});

describe('allowlist and names', () => {
  const all = [
    ...entities(zigbee2mqttLight({ name: 'Kitchen light', objectId: 'kitchen_light' }).configTopic, zigbee2mqttLight({ name: 'Kitchen light', objectId: 'kitchen_light' }).config),
    ...entities(zigbee2mqttLight({ name: 'Kitchen spots', objectId: 'kitchen_spots' }).configTopic, zigbee2mqttLight({ name: 'Kitchen spots', objectId: 'kitchen_spots' }).config),
    ...entities(zigbee2mqttSwitch({ name: 'Garage door', objectId: 'garage_door' }).configTopic, zigbee2mqttSwitch({ name: 'Garage door', objectId: 'garage_door' }).config),
  ];

  it('globs over entity ids', () => {
    const lights = new EntityAllowlist(['light.*']);
    expect(lights.allows('light.kitchen_light')).toBe(true);
    expect(lights.allows('switch.garage_door')).toBe(false);
    expect(new EntityAllowlist(['*']).allows('switch.garage_door')).toBe(true);
    expect(new EntityAllowlist(['switch.coffee_*', 'light.kitchen_light']).allows('light.kitchen_spots')).toBe(false);
  });

  it('finds what a person means, or says it is ambiguous', () => {
    expect(resolveEntity(all, 'the kitchen light')).toMatchObject({ kind: 'found', entity: { entityId: 'light.kitchen_light' } });
    expect(resolveEntity(all, 'light.kitchen_spots')).toMatchObject({ kind: 'found', entity: { entityId: 'light.kitchen_spots' } });
    expect(resolveEntity(all, 'garage doors')).toMatchObject({ kind: 'found', entity: { entityId: 'switch.garage_door' } });
    const kitchen = resolveEntity(all, 'kitchen');
    expect(kitchen.kind).toBe('ambiguous');
    expect(resolveEntity(all, 'bedroom lamp')).toEqual({ kind: 'not_found' });
  });
});
