import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { checkDeviceCredentials, readWebSocketCredentials } from '../../gateway/transport/auth.ts';
import { topicMatches } from '../../gateway/transport/mqtt-bus.ts';
import { MqttPacketSizeScanner } from '../../gateway/transport/mqtt-packet-size-guard.ts';
import { startMqttBus } from '../../gateway/transport/index.ts';
import { loadConfig } from '../../gateway/config.ts';
import { captureLogger } from './helpers.ts';

describe('topicMatches (MQTT 3.1.1 §4.7)', () => {
  it.each([
    ['voxgate/+/up/+', 'voxgate/kitchen-1/up/ctrl', true],
    ['voxgate/+/up/+', 'voxgate/kitchen-1/up/ctrl/x', false],
    ['voxgate/+/up/+', 'voxgate/kitchen-1/down/ctrl', false],
    ['voxgate/#', 'voxgate', true],
    ['voxgate/#', 'voxgate/a/b/c', true],
    ['voxgate/a', 'voxgate/a/b', false],
    ['#', '$SYS/broker/x', false],
    ['+/broker/x', '$SYS/broker/x', false],
    ['$SYS/#', '$SYS/broker/x', true],
  ])('%s vs %s → %s', (filter, topic, expected) => {
    expect(topicMatches(filter, topic)).toBe(expected);
  });
});

describe('MqttPacketSizeScanner', () => {
  const packet = (bodyLength: number) => {
    const length: number[] = [];
    let n = bodyLength;
    do {
      length.push((n % 128) | (n >= 128 ? 0x80 : 0));
      n = Math.floor(n / 128);
    } while (n > 0);
    return Buffer.concat([Buffer.from([0x30, ...length]), Buffer.alloc(bodyLength, 7)]);
  };

  it('accepts a stream of packets under the cap, whatever the chunking', () => {
    const stream = Buffer.concat([packet(0), packet(127), packet(128), packet(1000), packet(16_383), packet(16_384)]);
    for (const chunkSize of [1, 2, 3, 7, 100, stream.length]) {
      const scanner = new MqttPacketSizeScanner(16_384);
      const problems: (string | null)[] = [];
      for (let i = 0; i < stream.length; i += chunkSize) problems.push(scanner.scan(stream.subarray(i, i + chunkSize)));
      expect(problems.filter(Boolean)).toEqual([]);
    }
  });

  it('reports the first packet over the cap from its header alone, even split across chunks', () => {
    const scanner = new MqttPacketSizeScanner(1000);
    expect(scanner.scan(packet(10))).toBeNull();
    const big = packet(1001).subarray(0, 3); // header only: the body never needs to arrive
    expect(scanner.scan(big.subarray(0, 2))).toBeNull();
    expect(scanner.scan(big.subarray(2))).toBe('packet over 1000 bytes');
  });

  it('reports a remaining-length field longer than four bytes', () => {
    const scanner = new MqttPacketSizeScanner(Number.MAX_SAFE_INTEGER);
    expect(scanner.scan(Buffer.from([0x30, 0x80, 0x80, 0x80, 0x80, 0x01]))).toBe('malformed remaining length');
  });
});

describe('WebSocket credentials', () => {
  const req = (headers: Record<string, string>) => ({ headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])) }) as IncomingMessage;
  const url = (query = '') => new URL(`http://localhost/v1/device${query}`);

  it('reads the header pair, preferring it over the query', () => {
    expect(readWebSocketCredentials(req({ Authorization: 'Bearer abc', 'Device-Id': 'dev-1' }), url('?device_id=x&token=y'))).toEqual({ deviceId: 'dev-1', token: 'abc' });
    expect(readWebSocketCredentials(req({ Authorization: 'bearer   abc ', 'Device-Id': 'dev-1' }), url())).toEqual({ deviceId: 'dev-1', token: 'abc' });
  });

  it('reads the query pair and refuses halves', () => {
    expect(readWebSocketCredentials(req({}), url('?device_id=dev-1&token=t%2B1'))).toEqual({ deviceId: 'dev-1', token: 't+1' });
    expect(readWebSocketCredentials(req({}), url('?device_id=dev-1'))).toBeNull();
    expect(readWebSocketCredentials(req({ Authorization: 'Bearer abc' }), url())).toBeNull();
    expect(readWebSocketCredentials(req({ Authorization: 'Token abc', 'Device-Id': 'dev-1' }), url())).toBeNull();
  });

  it('never accepts a non-device id and turns a throwing registry into an error verdict', () => {
    let asked = 0;
    const yes = () => (asked++, true);
    expect(checkDeviceCredentials(yes, 'gateway', 't').verdict).toBe('not_authorized');
    expect(checkDeviceCredentials(yes, 'a/b', 't').verdict).toBe('not_authorized');
    expect(asked).toBe(0);
    expect(checkDeviceCredentials(yes, 'dev-1', 't').verdict).toBe('ok');
    expect(checkDeviceCredentials(() => false, 'dev-1', 't').verdict).toBe('bad_credentials');
    const failing = checkDeviceCredentials(() => {
      throw new Error('db locked');
    }, 'dev-1', 't');
    expect(failing.verdict).toBe('error');
  });
});

describe('startMqttBus', () => {
  it('embeds a broker on the configured host and port when no mqttUrl is set', async () => {
    const config = loadConfig({ overrides: { host: '127.0.0.1', mqttPort: 0, dataDir: '/tmp/voxgate-transport-test' } });
    const bus = await startMqttBus(config, { authenticate: () => false, logger: captureLogger().logger });
    try {
      expect(bus.mode).toBe('embedded');
    } finally {
      await bus.close();
    }
  });
});
