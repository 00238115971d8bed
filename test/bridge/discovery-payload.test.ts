import { describe, expect, it } from 'vitest';
import { createTopics } from '../../protocol/index.ts';
import { createBridgeTopics } from '../../gateway/bridge/bridge-topics.ts';
import { MAX_STATE_CHARS, stateText, wearableDiscovery } from '../../gateway/bridge/discovery-payload.ts';
import { checkDeviceDiscovery, expandDeviceConfig } from './helpers/ha-discovery-schema.ts';

const topics = createBridgeTopics({ discoveryPrefix: 'homeassistant', bridgePrefix: 'voxgate-bridge', devicePrefix: 'voxgate' });
const deviceTopics = createTopics('voxgate');

function discovery(overrides: Partial<Parameters<typeof wearableDiscovery>[0]> = {}) {
  return wearableDiscovery({
    deviceId: 'Kitchen-1',
    name: 'Kitchen wearable',
    topics,
    gatewayStateTopic: deviceTopics.gatewayState(),
    deviceAvailabilityTopic: deviceTopics.availability('Kitchen-1'),
    publishText: true,
    swVersion: '0.1.0',
    ...overrides,
  });
}

describe('wearable discovery payload (HA device-based discovery)', () => {
  it('is a valid device-based config: dev, o, cmps, unique ids, default_entity_id, no object_id', () => {
    const payload = discovery();
    expect(checkDeviceDiscovery(payload)).toEqual([]);
    expect(payload).toMatchObject({
      dev: { ids: ['voxgate_Kitchen-1'], name: 'Kitchen wearable', mf: 'voxgate' },
      o: { name: 'voxgate', sw: '0.1.0' },
      availability: [{ topic: 'voxgate/gateway/state' }, { topic: 'voxgate/Kitchen-1/availability' }],
      availability_mode: 'all',
    });
    expect(topics.discoveryConfig('Kitchen-1')).toBe('homeassistant/device/voxgate_Kitchen-1/config');
    expect(JSON.stringify(payload)).not.toMatch(/object_id/);
  });

  it('has the entities the issue asks for, with valid options', () => {
    const { components } = expandDeviceConfig(discovery());
    expect(components.battery).toMatchObject({
      platform: 'sensor',
      unique_id: 'voxgate_Kitchen-1_battery',
      default_entity_id: 'sensor.voxgate_kitchen_1_battery',
      device_class: 'battery',
      unit_of_measurement: '%',
      entity_category: 'diagnostic',
      state_topic: 'voxgate-bridge/Kitchen-1/battery',
    });
    expect(components.signal).toMatchObject({ platform: 'sensor', device_class: 'signal_strength', unit_of_measurement: 'dBm', entity_category: 'diagnostic' });
    expect(components.listening).toMatchObject({ platform: 'binary_sensor', payload_on: 'ON', payload_off: 'OFF', state_topic: 'voxgate-bridge/Kitchen-1/listening' });
    expect(components.last_transcript).toMatchObject({
      platform: 'sensor',
      state_topic: 'voxgate-bridge/Kitchen-1/transcript',
      json_attributes_topic: 'voxgate-bridge/Kitchen-1/transcript/attributes',
    });
    expect(components.last_reply).toMatchObject({ platform: 'sensor', state_topic: 'voxgate-bridge/Kitchen-1/reply' });
    expect(components.button).toMatchObject({
      platform: 'event',
      device_class: 'button',
      event_types: ['press', 'double_press', 'long_press'],
      state_topic: 'voxgate-bridge/Kitchen-1/button',
    });
    const triggers = Object.values(components).filter((c) => c.platform === 'device_automation');
    expect(triggers.map((t) => [t.payload, t.type, t.subtype, t.topic])).toEqual([
      ['press', 'button_short_press', 'button_1', 'voxgate-bridge/Kitchen-1/button/action'],
      ['double_press', 'button_double_press', 'button_1', 'voxgate-bridge/Kitchen-1/button/action'],
      ['long_press', 'button_long_press', 'button_1', 'voxgate-bridge/Kitchen-1/button/action'],
    ]);
    expect(components.announce).toMatchObject({ platform: 'notify', command_topic: 'voxgate-bridge/Kitchen-1/notify/set' });
    expect(components.stop_speaking).toMatchObject({ platform: 'button', command_topic: 'voxgate-bridge/Kitchen-1/stop/set', payload_press: 'PRESS' });
    expect(components.mute).toMatchObject({
      platform: 'switch',
      command_topic: 'voxgate-bridge/Kitchen-1/mute/set',
      state_topic: 'voxgate-bridge/Kitchen-1/mute',
      entity_category: 'config',
    });
  });

  it('availability: both topics (mode all) for states; the gateway only for announce and mute, so HA can queue for a sleeping wearable', () => {
    const { components } = expandDeviceConfig(discovery());
    const both = [{ topic: 'voxgate/gateway/state' }, { topic: 'voxgate/Kitchen-1/availability' }];
    for (const id of ['battery', 'signal', 'listening', 'button', 'stop_speaking']) {
      expect(components[id]!.availability, id).toEqual(both);
      expect(components[id]!.availability_mode, id).toBe('all');
    }
    expect(components.announce!.availability).toEqual([{ topic: 'voxgate/gateway/state' }]);
    expect(components.mute!.availability).toEqual([{ topic: 'voxgate/gateway/state' }]);
  });

  it('leaves the text sensors out when publishText is off', () => {
    const payload = discovery({ publishText: false });
    expect(checkDeviceDiscovery(payload)).toEqual([]);
    expect(Object.keys(expandDeviceConfig(payload).components)).not.toContain('last_transcript');
  });

  it('the validator catches what HA would refuse (so the checks above can fail)', () => {
    const broken = discovery() as { cmps: Record<string, Record<string, unknown>>; o?: unknown };
    delete broken.o;
    delete broken.cmps.battery!.unique_id;
    broken.cmps.button!.event_types = [];
    broken.cmps.signal!.default_entity_id = 'signal';
    broken.cmps.listening!.object_id = 'x';
    expect(checkDeviceDiscovery(broken)).toEqual(
      expect.arrayContaining([
        'origin (o) is required for device discovery',
        'cmps.battery: unique_id is required in device discovery',
        'cmps.button: event needs event_types',
        'cmps.signal: default_entity_id "signal" is not a sensor.<object_id> entity id',
        'object_id is removed in HA 2026.4; use default_entity_id',
      ]),
    );
  });
});

describe('stateText', () => {
  it('keeps at most 255 characters, marking a cut', () => {
    expect(stateText('short')).toBe('short');
    const long = 'é'.repeat(400);
    expect([...stateText(long)]).toHaveLength(MAX_STATE_CHARS);
    expect(stateText(long).endsWith('…')).toBe(true);
  });
});
