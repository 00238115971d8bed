/**
 * Zeroconf for real, on the loopback interface: the Wyoming server advertises
 * `<name>._wyoming._tcp.local` with its port and bound address, a multicast-dns browser
 * (as Home Assistant's zeroconf browses for `_wyoming._tcp.local.`) finds it, and stopping
 * sends the goodbye (TTL 0).
 */
import { randomBytes } from 'node:crypto';
import makeMdns from 'multicast-dns';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultInstanceName } from '../../gateway/wyoming/zeroconf.ts';
import { FakeStt } from '../fakes/fake-stt.ts';
import { FakeTts } from '../fakes/fake-tts.ts';
import { startTestWyoming } from './helpers.ts';

type Answer = { type: string; name: string; data: unknown; ttl?: number };

const browsers: Array<ReturnType<typeof makeMdns>> = [];
afterEach(() => {
  for (const b of browsers.splice(0)) b.destroy();
});

/** A browser on loopback that keeps every record it hears (bound to the wildcard: a unicast bind would not get multicast). */
function browse(): { records: Answer[]; query(): void } {
  const mdns = makeMdns({ interface: '127.0.0.1', bind: '0.0.0.0', multicast: true, loopback: true, reuseAddr: true });
  browsers.push(mdns);
  const records: Answer[] = [];
  mdns.on('response', (response) => {
    for (const r of [...response.answers, ...(response.additionals ?? [])]) records.push(r as Answer);
  });
  return { records, query: () => mdns.query({ questions: [{ name: '_wyoming._tcp.local', type: 'PTR' }] }) };
}

describe('zeroconf advertisement', () => {
  it('Home Assistant’s browse for _wyoming._tcp finds the server, its port and its address; stop says goodbye', async () => {
    const name = `voxgate-test-${randomBytes(4).toString('hex')}`;
    const w = await startTestWyoming({ engines: { stt: new FakeStt(), tts: new FakeTts() }, settings: { zeroconf: true, zeroconfName: name } });
    const fqdn = await w.server.zeroconf!.announced;
    expect(fqdn).toBe(`${name}._wyoming._tcp.local.`);

    const browser = browse();
    const instance = `${name}._wyoming._tcp.local`;
    // Asked again until answered: the first query may go out before the browser's socket has joined the group.
    await expect
      .poll(() => (browser.query(), browser.records.some((r) => r.type === 'SRV' && r.name === instance)), { timeout: 5_000, interval: 250 })
      .toBe(true);
    expect(browser.records).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'PTR', name: '_wyoming._tcp.local', data: instance }),
        expect.objectContaining({ type: 'SRV', name: instance, data: expect.objectContaining({ port: w.port, target: `${name}.local` }) }),
        expect.objectContaining({ type: 'A', name: `${name}.local`, data: '127.0.0.1' }),
      ]),
    );
    // Bound to 127.0.0.1: no other address is advertised.
    expect(browser.records.filter((r) => (r.type === 'A' || r.type === 'AAAA') && r.name === `${name}.local`).every((r) => r.data === '127.0.0.1')).toBe(true);

    browser.records.length = 0;
    await w.server.close();
    await expect
      .poll(() => browser.records.some((r) => r.type === 'PTR' && r.data === instance && r.ttl === 0), { timeout: 5_000 })
      .toBe(true);
  });

  it('the default instance name is a host-name-safe label', () => {
    expect(defaultInstanceName('Living Room.local')).toBe('voxgate-living-room');
    expect(defaultInstanceName('NAS_01')).toBe('voxgate-nas-01');
    expect(defaultInstanceName('...')).toBe('voxgate-gateway');
  });
});
