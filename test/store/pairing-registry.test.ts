/**
 * Pairing of stock xiaozhi firmware in the store: codes per MAC and Client-Id, one use,
 * expiry, failed claims rate limited across processes (two stores on one file), devices
 * registered with a MAC, and the Client-Id binding.
 */
import { describe, expect, it } from 'vitest';
import { CLAIM_FAILURE_LIMIT, CLAIM_FAILURE_WINDOW_MS, normalizeMac, openStore, PAIRING_CODE_TTL_MS, StoreError, type Store } from '../../gateway/store/index.ts';
import { useTempDirs } from '../helpers/temp-dir.ts';

const tempDir = useTempDirs('pairing');
const MAC = 'aa:bb:cc:dd:ee:01';
const CLIENT = '5b2a6f3e-8d4c-4c1e-9f0a-1234567890ab';

function clock(start = 1_800_000_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

function withStore<T>(use: (store: Store, dataDir: string) => T, now?: () => number): T {
  const dataDir = tempDir();
  const store = openStore(dataDir, { now });
  try {
    return use(store, dataDir);
  } finally {
    store.close();
  }
}

function errorCode(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof StoreError) return err.code;
    throw err;
  }
  return undefined;
}

describe('MAC addresses', () => {
  it('accepts the common spellings and refuses anything else', () => {
    expect(normalizeMac('AA:BB:CC:DD:EE:FF')).toBe('aa:bb:cc:dd:ee:ff');
    expect(normalizeMac('aa-bb-cc-dd-ee-ff')).toBe('aa:bb:cc:dd:ee:ff');
    expect(normalizeMac(' aabbccddeeff ')).toBe('aa:bb:cc:dd:ee:ff');
    for (const bad of ['', 'aa:bb:cc:dd:ee', 'aa:bb:cc:dd:ee:ff:00', 'gg:bb:cc:dd:ee:ff', 'aa:bb-cc:dd:ee:ff:'.repeat(3)]) {
      expect(normalizeMac(bad), bad).toBeNull();
    }
  });
});

describe('devices with a MAC', () => {
  it('are ordinary devices that also carry their MAC; the MAC is unique', () => {
    withStore(({ devices }) => {
      const { device, token } = devices.add('wrist', 'Wrist', { mac: 'AA-BB-CC-DD-EE-01' });
      expect(device).toMatchObject({ id: 'wrist', name: 'Wrist', mac: MAC });
      expect(devices.verify('wrist', token)).toBe(true);
      expect(devices.getByMac('aabbccddee01')?.id).toBe('wrist');
      expect(devices.getByMac('not a mac')).toBeUndefined();
      expect(errorCode(() => devices.add('other', undefined, { mac: MAC }))).toBe('duplicate_mac');
      expect(errorCode(() => devices.add('third', undefined, { mac: 'nope' }))).toBe('invalid_mac');
      // A device without a MAC has no `mac` key at all.
      expect(Object.keys(devices.add('plain').device)).not.toContain('mac');
    });
  });
});

describe('PairingRegistry', () => {
  it('gives a device the same 6-digit code until it expires, then a new one', () => {
    const c = clock();
    withStore(({ pairing }) => {
      const first = pairing.codeFor(MAC, CLIENT, 'bread-compact-wifi');
      expect(first).toMatchObject({ mac: MAC, clientId: CLIENT, label: 'bread-compact-wifi', expiresAt: c.now() + PAIRING_CODE_TTL_MS });
      expect(first.code).toMatch(/^\d{6}$/);
      c.advance(PAIRING_CODE_TTL_MS - 1);
      expect(pairing.codeFor(MAC, CLIENT, 'bread-compact-wifi').code).toBe(first.code);
      expect(pairing.activationState(MAC, CLIENT)).toBe('pending');
      c.advance(1);
      expect(pairing.activationState(MAC, CLIENT)).toBe('none');
      expect(pairing.codeFor(MAC, CLIENT, 'bread-compact-wifi').code).not.toBe(first.code);
    }, c.now);
  });

  it('a claim registers the device under its MAC, binds its Client-Id and activates it; the code works once', () => {
    withStore(({ pairing, devices }) => {
      const { code } = pairing.codeFor(MAC, CLIENT, 'esp-box');
      const claimed = pairing.claim(code, 'Desk box');
      expect(claimed).toMatchObject({ mac: MAC, repaired: false, device: { id: 'xiaozhi-aabbccddee01', name: 'Desk box', mac: MAC } });
      expect(devices.list().map((d) => d.id)).toEqual(['xiaozhi-aabbccddee01']);
      expect(pairing.clientIdOf('xiaozhi-aabbccddee01')).toBe(CLIENT);
      expect(pairing.activationState(MAC, CLIENT)).toBe('activated');
      expect(pairing.activationState(MAC, 'another-client')).toBe('none');
      expect(errorCode(() => pairing.claim(code))).toBe('used_code');
    });
  });

  it('names a claimed device after its board unless told otherwise', () => {
    withStore(({ pairing }) => {
      expect(pairing.claim(pairing.codeFor(MAC, CLIENT, 'esp-box').code).device.name).toBe('esp-box');
    });
  });

  it('re-pairing a registered MAC (flash erased, new Client-Id) keeps the device and rebinds it', () => {
    withStore(({ pairing, devices }) => {
      devices.add('kept', 'Kept', { mac: MAC });
      const { code } = pairing.codeFor(MAC, 'new-client', 'esp-box');
      expect(pairing.claim(code)).toMatchObject({ repaired: true, device: { id: 'kept', name: 'Kept' } });
      expect(pairing.clientIdOf('kept')).toBe('new-client');
      expect(devices.list()).toHaveLength(1);
    });
  });

  it('refuses unknown, expired and malformed codes', () => {
    const c = clock();
    withStore(({ pairing, devices }) => {
      const { code } = pairing.codeFor(MAC, CLIENT, 'esp-box');
      const other = code === '000000' ? '000001' : '000000';
      expect(errorCode(() => pairing.claim(other))).toBe('unknown_code');
      expect(errorCode(() => pairing.claim('12ab56'))).toBe('unknown_code');
      c.advance(PAIRING_CODE_TTL_MS);
      expect(errorCode(() => pairing.claim(code))).toBe('expired_code');
      expect(devices.list()).toEqual([]);
    }, c.now);
  });

  it('rate limits failed claims across processes, then allows them again after the window', () => {
    const c = clock();
    const dataDir = tempDir();
    const gateway = openStore(dataDir, { now: c.now });
    const cli = openStore(dataDir, { now: c.now });
    try {
      const { code } = gateway.pairing.codeFor(MAC, CLIENT, 'esp-box');
      const wrong = code === '999999' ? '999998' : '999999';
      for (let i = 0; i < CLAIM_FAILURE_LIMIT; i++) expect(errorCode(() => cli.pairing.claim(wrong))).toBe('unknown_code');
      // Even the right code is refused while the limit holds, from any process.
      expect(errorCode(() => gateway.pairing.claim(code))).toBe('rate_limited');
      expect(() => cli.pairing.claim(code)).toThrow(/try again in \d+ s/);
      c.advance(CLAIM_FAILURE_WINDOW_MS);
      expect(cli.pairing.claim(code).device.mac).toBe(MAC);
    } finally {
      cli.close();
      gateway.close();
    }
  });

  it('caps the codes waiting to be claimed', () => {
    withStore(({ pairing }) => {
      for (let i = 0; i < 100; i++) pairing.codeFor(`aa:bb:cc:dd:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`, CLIENT, 'x');
      expect(errorCode(() => pairing.codeFor('02:00:00:00:00:01', CLIENT, 'x'))).toBe('rate_limited');
    });
  });

  it('binds a pre-registered device to a Client-Id', () => {
    withStore(({ pairing, devices }) => {
      devices.add('pre', undefined, { mac: MAC });
      expect(pairing.clientIdOf('pre')).toBeNull();
      expect(pairing.clientIdOf('nobody')).toBeUndefined();
      pairing.bindClientId('pre', CLIENT);
      expect(pairing.activationState(MAC, CLIENT)).toBe('activated');
    });
  });
});
