import { describe, expect, it } from 'vitest';
import { createBridgeTopics, filterWithin, filtersIntersect, prefixesOverlap } from '../../gateway/bridge/bridge-topics.ts';
import { createServiceAcl } from '../../gateway/bridge/service-acl.ts';

const topics = createBridgeTopics({ discoveryPrefix: 'homeassistant', bridgePrefix: 'voxgate-bridge', devicePrefix: 'voxgate' });

describe('topic filter relations', () => {
  it('filterWithin: every topic of the first filter matches the second', () => {
    expect(filterWithin('homeassistant/+/+/config', 'homeassistant/#')).toBe(true);
    expect(filterWithin('homeassistant/#', 'homeassistant/#')).toBe(true);
    expect(filterWithin('voxgate/kitchen/availability', 'voxgate/+/availability')).toBe(true);
    expect(filterWithin('voxgate/+/availability', 'voxgate/+/availability')).toBe(true);
    expect(filterWithin('voxgate/#', 'voxgate/+/availability')).toBe(false);
    expect(filterWithin('#', 'homeassistant/#')).toBe(false);
    expect(filterWithin('+/status', 'homeassistant/#')).toBe(false);
    expect(filterWithin('voxgate/+/+', 'voxgate/+/availability')).toBe(false);
  });

  it('filtersIntersect and prefixesOverlap', () => {
    expect(filtersIntersect('zigbee2mqtt/#', 'voxgate/+/up/#')).toBe(false);
    expect(filtersIntersect('+/+/up/audio', 'voxgate/+/up/#')).toBe(true);
    expect(filtersIntersect('#', 'voxgate/+/down/#')).toBe(true);
    expect(prefixesOverlap('voxgate-bridge', 'voxgate')).toBe(false);
    expect(prefixesOverlap('voxgate/bridge', 'voxgate')).toBe(true);
    expect(prefixesOverlap('voxgate', 'voxgate')).toBe(true);
  });
});

describe('the Home Assistant service ACL', () => {
  const acl = createServiceAcl({ topics, devicePrefix: 'voxgate', sharedTopics: ['zigbee2mqtt/#'] });

  it('lets Home Assistant subscribe to discovery, bridge states, gateway and device availability', () => {
    for (const filter of [
      'homeassistant/status',
      'homeassistant/+/+/config',
      'voxgate-bridge/kitchen/battery',
      'voxgate-bridge/#',
      'voxgate/gateway/state',
      'voxgate/kitchen/availability',
      'zigbee2mqtt/#',
    ]) {
      expect(acl.maySubscribe(filter), filter).toBe(true);
    }
  });

  it('never lets it near the wearables’ audio or control topics', () => {
    for (const filter of ['#', 'voxgate/#', 'voxgate/+/up/audio', 'voxgate/kitchen/down/ctrl', 'voxgate/+/+', '+/kitchen/up/ctrl', '$SYS/#']) {
      expect(acl.maySubscribe(filter), filter).toBe(false);
    }
    for (const topic of ['voxgate/kitchen/up/ctrl', 'voxgate/kitchen/down/ctrl', 'voxgate/kitchen/down/audio', 'voxgate/gateway/state', 'voxgate/kitchen/availability']) {
      expect(acl.mayPublish(topic), topic).toBe(false);
    }
  });

  it('publishes: its birth, the bridge commands, the conversation response, shared topics; not bridge states', () => {
    for (const topic of [
      'homeassistant/status',
      'voxgate-bridge/kitchen/notify/set',
      'voxgate-bridge/kitchen/stop/set',
      'voxgate-bridge/kitchen/mute/set',
      'voxgate-bridge/gateway/conversation/response',
      'zigbee2mqtt/Kitchen light/set',
    ]) {
      expect(acl.mayPublish(topic), topic).toBe(true);
    }
    for (const topic of ['voxgate-bridge/kitchen/battery', 'voxgate-bridge/kitchen/transcript', 'voxgate-bridge/gateway/conversation/request', 'voxgate-bridge/kitchen/notify/set/x']) {
      expect(acl.mayPublish(topic), topic).toBe(false);
    }
  });

  it('refuses shared topics that would reach the devices', () => {
    expect(() => createServiceAcl({ topics, devicePrefix: 'voxgate', sharedTopics: ['voxgate/#'] })).toThrow(/wearables' topics/);
    expect(() => createServiceAcl({ topics, devicePrefix: 'voxgate', sharedTopics: ['#'] })).toThrow(/wearables' topics/);
  });
});

describe('bridge topics', () => {
  it('parses commands and its own discovery topics, nothing else', () => {
    expect(topics.parseCommand('voxgate-bridge/kitchen/notify/set')).toEqual({ deviceId: 'kitchen', command: 'notify' });
    expect(topics.parseCommand('voxgate-bridge/kitchen/battery/set')).toBeNull();
    expect(topics.parseCommand('voxgate-bridge/gateway/mute/set')).toBeNull();
    expect(topics.parseDiscoveryConfig('homeassistant/device/voxgate_kitchen/config')).toBe('kitchen');
    expect(topics.parseDiscoveryConfig('homeassistant/device/zigbee_kitchen/config')).toBeNull();
  });
});
