/**
 * `voxgate-sim load --protocol xiaozhi --register`: pre-registers simulated stock xiaozhi
 * devices by MAC in the gateway's store (as `voxgate device add <id> --mac` does), so they need
 * no pairing code; each fetches its token through the OTA URL when it boots. Re-running reuses
 * them (same ids, same MACs).
 */
import { openStore, StoreError } from '../../gateway/store/index.ts';
import { loadDeviceId } from '../load-register.ts';
import type { DeviceCredentials } from '../load-credentials.ts';
import { simulatedMac } from './firmware-identity.ts';

export interface XiaozhiLoadDevice extends DeviceCredentials {
  mac: string;
}

/** Device i has id `<prefix>000i` and MAC 02:5a:00:00:00:0i (locally administered). */
export function registerXiaozhiLoadDevices(dataDir: string, count: number, prefix: string): XiaozhiLoadDevice[] {
  const store = openStore(dataDir);
  try {
    const devices: XiaozhiLoadDevice[] = [];
    for (let i = 0; i < count; i++) {
      const id = loadDeviceId(prefix, i);
      const mac = simulatedMac(i + 1);
      const existing = store.devices.getByMac(mac);
      if (existing && existing.id !== id) throw new Error(`MAC ${mac} already belongs to device ${existing.id}`);
      if (!existing) {
        try {
          store.devices.add(id, `xiaozhi load device ${i + 1}`, { mac });
        } catch (err) {
          if (err instanceof StoreError && err.code === 'duplicate_device') throw new Error(`device ${id} exists without MAC ${mac}: remove it or use another --id-prefix`);
          throw err;
        }
      }
      // The token is fetched at boot through the OTA URL; none is needed here.
      devices.push({ id, token: '', mac });
    }
    return devices;
  } finally {
    store.close();
  }
}
