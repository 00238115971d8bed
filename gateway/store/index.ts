/** The gateway's persistent state: one SQLite file with devices and their turns. */
import { openDatabase, type DatabaseOptions } from './database.ts';
import { DeviceRegistry } from './device-registry.ts';
import { TurnStore } from './turn-store.ts';

export { DATABASE_FILE, DEFAULT_BUSY_TIMEOUT_MS, openDatabase } from './database.ts';
export { DeviceRegistry, type IssuedDevice } from './device-registry.ts';
export { TurnStore, type ListTurnsOptions, type RecentConversationOptions } from './turn-store.ts';
export { StoreError, type StoreErrorCode } from './errors.ts';
export type { DeviceRecord, TurnOutcome, TurnRecord, TurnRecorder, TurnTimings } from './types.ts';

export interface Store {
  readonly devices: DeviceRegistry;
  readonly turns: TurnStore;
  /** Closes the database (checkpointing the WAL). Safe to call twice. */
  close(): void;
}

export interface StoreOptions extends Pick<DatabaseOptions, 'busyTimeoutMs'> {
  /** Clock for creation times; tests pass a fixed one. */
  now?: () => number;
}

export function openStore(dataDir: string, options: StoreOptions = {}): Store {
  const db = openDatabase(dataDir, { busyTimeoutMs: options.busyTimeoutMs });
  return {
    devices: new DeviceRegistry(db, options.now),
    turns: new TurnStore(db),
    close() {
      if (db.open) db.close();
    },
  };
}
