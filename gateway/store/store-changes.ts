/**
 * The "store changed" signal: which devices, service accounts and API keys were added, removed
 * or given new credentials, whether by this process (the HTTP API, pairing) or by another one
 * (the `voxgate device …` CLI writing the same SQLite file).
 *
 * Another process's commits are noticed by polling `PRAGMA data_version`, which changes on this
 * connection exactly when another connection has committed; it costs one pragma per interval,
 * and the tables are read only then. This process's own writes call `check()` directly.
 * Each check compares a snapshot of ids and credential hashes with the previous one, so the
 * listeners hear what changed, not that something did.
 */
import type { SqliteDatabase } from './database.ts';

/** Ids of one registry that changed since the last look. */
export interface IdChanges {
  added: string[];
  removed: string[];
  /** Still there with different credentials (token rotated). */
  changed: string[];
}

export interface StoreChange {
  /** By device id. */
  devices: IdChanges;
  /** By account name. */
  services: IdChanges;
  /** By key id; a revoked key is `removed`. */
  apiKeys: IdChanges;
}

export type StoreChangeListener = (change: StoreChange) => void;

export interface StoreChanges {
  /** Hears every change from now on; returns the unsubscribe. A throwing listener is ignored. */
  subscribe(listener: StoreChangeListener): () => void;
  /** Looks now (the registries call it after their own writes). */
  check(): void;
  /** Looks every `intervalMs` whether another process committed; returns the stop. */
  watch(intervalMs: number): () => void;
}

/** How often the gateway looks for other processes' commits: a CLI change takes effect within about this. */
export const STORE_WATCH_INTERVAL_MS = 1_000;

type Snapshot = Record<keyof StoreChange, Map<string, string>>;

const SNAPSHOT_QUERIES: Record<keyof StoreChange, string> = {
  devices: "SELECT id AS key, hex(token_hash) || ':' || ifnull(broker_hash, '') AS credential FROM devices",
  services: 'SELECT name AS key, hex(token_hash) AS credential FROM service_accounts',
  apiKeys: 'SELECT id AS key, hex(key_hash) AS credential FROM api_keys WHERE revoked_at IS NULL',
};

function diff(before: Map<string, string>, after: Map<string, string>): IdChanges {
  const changes: IdChanges = { added: [], removed: [], changed: [] };
  for (const [key, credential] of after) {
    const old = before.get(key);
    if (old === undefined) changes.added.push(key);
    else if (old !== credential) changes.changed.push(key);
  }
  for (const key of before.keys()) if (!after.has(key)) changes.removed.push(key);
  return changes;
}

const isEmpty = (c: IdChanges) => c.added.length + c.removed.length + c.changed.length === 0;

export function createStoreChanges(db: SqliteDatabase): StoreChanges {
  const listeners = new Set<StoreChangeListener>();
  const statements = Object.fromEntries(
    Object.entries(SNAPSHOT_QUERIES).map(([name, sql]) => [name, db.prepare<[], { key: string; credential: string }>(sql)]),
  ) as Record<keyof StoreChange, ReturnType<typeof db.prepare<[], { key: string; credential: string }>>>;
  /** Taken when the first listener arrives: a CLI command that only writes never reads the tables. */
  let snapshot: Snapshot | undefined;
  let checking = false;
  let again = false;
  const dataVersion = () => db.pragma('data_version', { simple: true }) as number;
  /** data_version when the snapshot was read (read first: a commit in between shows on the next look). */
  let snapshotVersion = 0;

  const read = (): Snapshot => {
    snapshotVersion = dataVersion();
    const take = (name: keyof StoreChange) => new Map(statements[name].all().map((row) => [row.key, row.credential]));
    return { devices: take('devices'), services: take('services'), apiKeys: take('apiKeys') };
  };

  function check(): void {
    if (!snapshot || !db.open) return;
    // A listener that writes (e.g. the bridge storing a setting) must not recurse into a half-told change.
    if (checking) {
      again = true;
      return;
    }
    checking = true;
    try {
      do {
        again = false;
        const next = read();
        const change: StoreChange = {
          devices: diff(snapshot.devices, next.devices),
          services: diff(snapshot.services, next.services),
          apiKeys: diff(snapshot.apiKeys, next.apiKeys),
        };
        snapshot = next;
        if (isEmpty(change.devices) && isEmpty(change.services) && isEmpty(change.apiKeys)) continue;
        for (const listener of [...listeners]) {
          try {
            listener(change);
          } catch {
            // One subscriber's bug must not keep the change from the others (or fail the write).
          }
        }
      } while (again);
    } finally {
      checking = false;
    }
  }

  return {
    subscribe(listener) {
      snapshot ??= read();
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    check,
    watch(intervalMs) {
      snapshot ??= read();
      const timer = setInterval(() => {
        if (!db.open) return clearInterval(timer);
        try {
          if (dataVersion() !== snapshotVersion) check();
        } catch {
          // SQLITE_BUSY and the like: the next tick looks again.
        }
      }, intervalMs);
      timer.unref();
      return () => clearInterval(timer);
    },
  };
}
