/** The gateway's persistent state: one SQLite file with devices and their turns. */
import { ApiKeyRegistry } from './api-key-registry.ts';
import { openDatabase, type DatabaseOptions } from './database.ts';
import { DeviceRegistry } from './device-registry.ts';
import { PairingRegistry } from './pairing-registry.ts';
import { ServiceAccountRegistry } from './service-account-registry.ts';
import { createStoreChanges, type StoreChanges } from './store-changes.ts';
import { TurnStore } from './turn-store.ts';

export { DATABASE_FILE, DEFAULT_BUSY_TIMEOUT_MS, openDatabase } from './database.ts';
export { DeviceRegistry, type DeviceBrokerHash, type DeviceChange, type IssuedDevice } from './device-registry.ts';
export { goAuthPbkdf2Hash, mosquittoPasswordHash, parseMosquittoHash } from './broker-password.ts';
export { STORE_WATCH_INTERVAL_MS, type IdChanges, type StoreChange, type StoreChangeListener, type StoreChanges } from './store-changes.ts';
export { ApiKeyRegistry, type ApiKeyRecord, type IssuedApiKey } from './api-key-registry.ts';
export { ServiceAccountRegistry, type IssuedServiceAccount, type ServiceAccountRecord } from './service-account-registry.ts';
export { normalizeMac } from './mac.ts';
export {
  PairingRegistry,
  PAIRING_CODE_TTL_MS,
  CLAIM_FAILURE_LIMIT,
  CLAIM_FAILURE_WINDOW_MS,
  type ActivationState,
  type ClaimedDevice,
  type PairingCode,
  type PairingOptions,
} from './pairing-registry.ts';
export { TurnStore, type ListTurnsOptions, type RecentConversationOptions } from './turn-store.ts';
export { StoreError, type StoreErrorCode } from './errors.ts';
export { startTurnRetention, type TurnRetention, type TurnRetentionOptions } from './turn-retention.ts';
export type { DeviceRecord, TurnOutcome, TurnRecord, TurnRecorder, TurnTimings } from './types.ts';

export interface Store {
  readonly devices: DeviceRegistry;
  readonly turns: TurnStore;
  /** Keys of the HTTP API. */
  readonly apiKeys: ApiKeyRegistry;
  /** MQTT accounts of services such as Home Assistant. */
  readonly services: ServiceAccountRegistry;
  /** Pairing codes of stock xiaozhi firmware and the Client-Id each such device is bound to. */
  readonly pairing: PairingRegistry;
  /** Devices, accounts and keys added, removed or rotated, by this process or (once watched) another. */
  readonly changes: StoreChanges;
  /** Whether the database answers a query (for /health). */
  healthy(): boolean;
  /** Closes the database (checkpointing the WAL). Safe to call twice. */
  close(): void;
}

export interface StoreOptions extends Pick<DatabaseOptions, 'busyTimeoutMs'> {
  /** Clock for creation times; tests pass a fixed one. */
  now?: () => number;
}

export function openStore(dataDir: string, options: StoreOptions = {}): Store {
  const db = openDatabase(dataDir, { busyTimeoutMs: options.busyTimeoutMs });
  const changes = createStoreChanges(db);
  const devices = new DeviceRegistry(db, options.now, changes);
  return {
    devices,
    pairing: new PairingRegistry(db, devices, options.now),
    turns: new TurnStore(db),
    apiKeys: new ApiKeyRegistry(db, options.now, changes),
    services: new ServiceAccountRegistry(db, options.now, changes),
    changes,
    healthy() {
      try {
        return db.open && db.prepare('SELECT 1 AS ok').get() !== undefined;
      } catch {
        return false;
      }
    },
    close() {
      if (db.open) db.close();
    },
  };
}
