/**
 * LogOnce (issue 11 item 8): true the first time a kind of trouble is seen, also once its
 * memory is full (the oldest kind is forgotten); per-turn keys are reset with each turn, so
 * a long session keeps logging warnings.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { LogOnce, MAX_REMEMBERED_KEYS } from '../../gateway/session/log-once.ts';
import { createHarness } from './harness.ts';

const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

describe('LogOnce', () => {
  it('says true once per key, and still says true for new keys when its memory is full', () => {
    const once = new LogOnce();
    expect(once.first('a')).toBe(true);
    expect(once.first('a')).toBe(false);
    for (let i = 0; i < MAX_REMEMBERED_KEYS * 3; i++) expect(once.first(`k${i}`), `k${i}`).toBe(true);
    // The newest keys are still remembered.
    expect(once.first(`k${MAX_REMEMBERED_KEYS * 3 - 1}`)).toBe(false);
    once.reset();
    expect(once.first(`k${MAX_REMEMBERED_KEYS * 3 - 1}`)).toBe(true);
  });
});

describe('a long session', () => {
  it('logs each turn’s repeated start once, and a new kind of bad message after a hundred turns', async () => {
    const h = createHarness();
    cleanup.push(() => h.hub.closeAll());
    const device = h.connect();
    await device.hello();
    const turns = 100;
    for (let turn = 1; turn <= turns; turn++) {
      device.listen('start', { turn });
      device.listen('start', { turn }); // an MQTT QoS 1 redelivery
      device.listen('start', { turn });
    }
    expect(h.log.matching('repeated listen start ignored').map((l) => l.turn)).toEqual(Array.from({ length: turns }, (_, i) => i + 1));
    device.control('{not json');
    expect(h.log.matching('bad message')).toEqual([expect.objectContaining({ reason: 'not valid JSON', level: 40 })]);
  });
});
