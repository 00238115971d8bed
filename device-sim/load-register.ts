/**
 * `voxgate-sim load --register --data-dir DIR`: registers the load's devices on the spot in
 * the gateway's own store — opens its SQLite file beside the running gateway (WAL mode and a
 * busy timeout make that safe, as for `voxgate device add`), adds `<prefix>0001`,
 * `<prefix>0002`, … and issues fresh tokens; a device that already exists gets a new token,
 * so re-running works. The registered devices stay registered. Kept apart from the rest of
 * the simulator, which never needs the gateway's code.
 */
import { isValidDeviceId } from '../protocol/index.ts';
import { openStore, StoreError } from '../gateway/store/index.ts';
import type { DeviceCredentials } from './load-credentials.ts';

/** Device ids of a registered load: prefix + a 4-digit (or longer) number from 1. */
export function loadDeviceId(prefix: string, index: number): string {
  return `${prefix}${String(index + 1).padStart(4, '0')}`;
}

/** Registers (or re-tokens) `count` devices in the store at `dataDir` and returns their credentials. */
export function registerLoadDevices(dataDir: string, count: number, prefix: string): DeviceCredentials[] {
  const first = loadDeviceId(prefix, 0);
  if (!isValidDeviceId(first)) throw new Error(`--id-prefix ${JSON.stringify(prefix)} makes invalid device ids (${first})`);
  const store = openStore(dataDir);
  try {
    const credentials: DeviceCredentials[] = [];
    for (let i = 0; i < count; i++) {
      const id = loadDeviceId(prefix, i);
      try {
        credentials.push({ id, token: store.devices.add(id, `load test device ${i + 1}`).token });
      } catch (err) {
        if (!(err instanceof StoreError && err.code === 'duplicate_device')) throw err;
        credentials.push({ id, token: store.devices.rotateToken(id) });
      }
    }
    return credentials;
  } finally {
    store.close();
  }
}
