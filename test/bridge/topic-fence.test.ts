/**
 * The topic fence (issue 11 item 1): a learned light or switch never gets a command or state
 * topic under the wearables' prefix, the bridge's own prefix or `$SYS`, and the home tools
 * check again before publishing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { readDiscoveryConfig } from '../../gateway/bridge/discovery-config.ts';
import { EntityCatalog } from '../../gateway/bridge/entity-catalog.ts';
import { EntityAllowlist } from '../../gateway/bridge/entity-control.ts';
import { CONTROL_TOOL_NAME, createHomeTools } from '../../gateway/bridge/home-tools.ts';
import { createTopicFence } from '../../gateway/bridge/topic-fence.ts';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../gateway/transport/embedded-broker.ts';
import { createCaptureLogger } from '../fakes/capture-logger.ts';
import { zigbee2mqttLight } from './helpers/fake-zigbee2mqtt.ts';

const fence = createTopicFence({ devicePrefix: 'voxgate', bridgePrefix: 'voxgate-bridge' });

function read(config: Record<string, unknown>, topic = 'homeassistant/switch/x/config') {
  const reading = readDiscoveryConfig('homeassistant', topic, JSON.stringify(config), 'voxgate', fence);
  if (reading.kind !== 'entities') throw new Error(`expected entities, got ${JSON.stringify(reading)}`);
  return reading;
}

describe('the topic fence on learned entities', () => {
  it.each([
    ['voxgate/kitchen-1/up/ctrl', /wearables' prefix/],
    ['voxgate/kitchen-1/down/ctrl', /wearables' prefix/],
    ['voxgate/gateway/state', /wearables' prefix/],
    ['voxgate', /wearables' prefix/],
    ['voxgate-bridge/kitchen-1/notify/set', /bridge's prefix/],
    ['voxgate-bridge/gateway/conversation/response', /bridge's prefix/],
    ['$SYS/broker/anything', /broker-reserved/],
    ['$share/group/x', /broker-reserved/],
  ])('refuses a switch whose command topic is %s', (commandTopic, reason) => {
    const reading = read({ name: 'Front door', command_topic: commandTopic });
    expect(reading.entities).toEqual([]);
    expect(reading.refused).toEqual([{ entityId: 'switch.front_door', topic: commandTopic, reason: expect.stringMatching(reason) }]);
  });

  it('refuses state and brightness topics there too, and keeps everything else', () => {
    expect(read({ name: 'Spy', command_topic: 'z/spy/set', state_topic: 'voxgate/kitchen-1/up/audio' }).entities).toEqual([]);
    expect(read({ name: 'Dim', command_topic: 'z/dim/set', brightness_command_topic: 'voxgate/kitchen-1/up/ctrl' }, 'homeassistant/light/dim/config').entities).toEqual([]);
    expect(read({ name: 'Dim', command_topic: 'z/dim/set', brightness_command_topic: 'z/dim/b', brightness_state_topic: '$SYS/x' }, 'homeassistant/light/dim/config').entities).toEqual([]);
    // Near misses are not under the prefixes: only whole topic levels count.
    for (const topic of ['voxgates/x/set', 'voxgate-bridge2/x', 'my/voxgate/x', 'zigbee2mqtt/Kitchen light/set']) {
      const reading = read({ name: 'Fine', command_topic: topic, state_topic: topic });
      expect(reading.entities.map((e) => e.commandTopic), topic).toEqual([topic]);
      expect(reading.refused).toBeUndefined();
    }
    const light = zigbee2mqttLight({ name: 'Kitchen light', objectId: 'kitchen_light' });
    expect(read(light.config, light.configTopic).entities).toHaveLength(1);
  });

  it('a device-based config keeps its good components and drops the fenced one', () => {
    const reading = read(
      {
        dev: { ids: ['multi'], name: 'Multi' },
        o: { name: 'forger' },
        cmps: {
          good: { p: 'switch', name: 'Good', cmd_t: 'z/good/set' },
          bad: { p: 'switch', name: 'Bad', cmd_t: 'voxgate/kitchen-1/up/ctrl' },
        },
      },
      'homeassistant/device/multi/config',
    );
    expect(reading.entities.map((e) => e.entityId)).toEqual(['switch.multi_good']);
    expect(reading.refused?.map((r) => r.entityId)).toEqual(['switch.multi_bad']);
  });
});

describe('the fence in the catalog and the home tools', () => {
  let broker: EmbeddedBroker | undefined;
  afterEach(async () => {
    await broker?.close();
    broker = undefined;
  });

  it('the catalog learns nothing fenced and says so; the tools refuse to publish on a fenced topic', async () => {
    const captured = createCaptureLogger();
    broker = await startEmbeddedBroker({ host: '127.0.0.1', port: 0, topicPrefix: 'voxgate', authenticate: () => false, logger: captured.logger });
    const forged = { name: 'Front door', default_entity_id: 'switch.front_door', command_topic: 'voxgate-bridge/kitchen-1/notify/set', payload_on: 'Open up.' };
    await broker.publish('homeassistant/switch/front_door/config', JSON.stringify(forged), { qos: 1, retain: true });

    const fenced = new EntityCatalog({ prefixes: ['homeassistant'], skipOrigin: 'voxgate', fence, logger: captured.logger });
    await fenced.attach(broker);
    expect(fenced.list()).toEqual([]);
    expect(captured.matching('home entity refused')).toEqual([
      expect.objectContaining({ entity: 'switch.front_door', entityTopic: 'voxgate-bridge/kitchen-1/notify/set', level: 40 }),
    ]);
    fenced.detach();

    // Defence in depth: a catalog without the fence learns it, the tools still do not publish.
    const unfenced = new EntityCatalog({ prefixes: ['homeassistant'], skipOrigin: 'voxgate', logger: captured.logger });
    await unfenced.attach(broker);
    expect(unfenced.list().map((e) => e.entityId)).toEqual(['switch.front_door']);
    const notified: string[] = [];
    await broker.subscribe('voxgate-bridge/+/notify/set', (_topic, payload) => notified.push(payload.toString()));
    const control = createHomeTools({
      catalog: unfenced,
      allowlist: new EntityAllowlist(['*']),
      bus: () => broker,
      fence,
      confirmMs: 100,
      maxListed: 40,
      logger: captured.logger,
    }).find((t) => t.name === CONTROL_TOOL_NAME)!;
    const context = { deviceId: 'hall-2', signal: new AbortController().signal };
    expect(await control.execute({ device: 'front door', state: 'on' }, context)).toBe(
      'refused: Front door (switch.front_door) cannot be controlled by voxgate. Nothing was changed.',
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(notified).toEqual([]);
    unfenced.detach();
  });
});
