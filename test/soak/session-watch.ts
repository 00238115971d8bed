/**
 * What the gateway says about each device's session, polled from its REST API
 * (GET /api/devices with an API key: online, transport, state). The soak asks it whether a
 * device came back to `idle` after its turn, or went offline after it dropped; a device that
 * does not within the grace is stuck.
 */

export interface DeviceView {
  online: boolean;
  state: string | null;
}

interface Snapshot {
  /** performance.now() when the request was sent: the states are at least this recent. */
  at: number;
  devices: Map<string, DeviceView>;
}

interface Waiter {
  deviceId: string;
  since: number;
  match: (view: DeviceView) => boolean;
  resolve: (view: DeviceView | undefined) => void;
}

/** A session not idle (or not gone) this long after its device's turn ended (or it dropped, or said goodbye) is stuck. */
export const STUCK_GRACE_MS = 15_000;

/** Between polls: often enough that a wait ends soon after the state changes, rarely enough to be no load. */
export const POLL_INTERVAL_MS = 500;

export interface SessionWatch {
  /** Resolves with the first view, polled after `since` (performance.now()), that matches; undefined after `timeoutMs`. */
  waitFor(deviceId: string, match: (view: DeviceView) => boolean, since: number, timeoutMs: number): Promise<DeviceView | undefined>;
  /** The latest view of a device (undefined before the first poll). */
  latest(deviceId: string): DeviceView | undefined;
  /** Polls that failed (the gateway did not answer); the last error. */
  readonly failures: { count: number; last?: string };
  stop(): void;
}

export const isIdle = (view: DeviceView) => view.online && view.state === 'idle';
export const isOffline = (view: DeviceView) => !view.online;

export function watchSessions(baseUrl: string, apiKey: string): SessionWatch {
  let snapshot: Snapshot | undefined;
  const waiters = new Set<Waiter>();
  const failures: SessionWatch['failures'] = { count: 0 };
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const settle = () => {
    if (!snapshot) return;
    for (const waiter of waiters) {
      if (snapshot.at < waiter.since) continue;
      const view = snapshot.devices.get(waiter.deviceId) ?? { online: false, state: null };
      if (waiter.match(view)) {
        waiters.delete(waiter);
        waiter.resolve(view);
      }
    }
  };

  const poll = async () => {
    const at = performance.now();
    try {
      const response = await fetch(`${baseUrl}/api/devices`, { headers: { authorization: `Bearer ${apiKey}` }, signal: AbortSignal.timeout(10_000) });
      if (!response.ok) throw new Error(`/api/devices answered ${response.status}`);
      const body = (await response.json()) as { devices: Array<{ id: string; online: boolean; state: string | null }> };
      snapshot = { at, devices: new Map(body.devices.map((d) => [d.id, { online: d.online, state: d.state }])) };
      settle();
    } catch (error) {
      failures.count += 1;
      failures.last = (error as Error).message;
    }
    if (!stopped) timer = setTimeout(() => void poll(), POLL_INTERVAL_MS);
  };
  void poll();

  return {
    waitFor(deviceId, match, since, timeoutMs) {
      return new Promise((resolve) => {
        const waiter: Waiter = {
          deviceId,
          since,
          match,
          resolve: (view) => {
            clearTimeout(limit);
            resolve(view);
          },
        };
        const limit = setTimeout(() => {
          waiters.delete(waiter);
          resolve(undefined);
        }, timeoutMs);
        waiters.add(waiter);
        settle();
      });
    },
    latest: (deviceId) => snapshot?.devices.get(deviceId),
    failures,
    stop() {
      stopped = true;
      clearTimeout(timer);
      for (const waiter of waiters) waiter.resolve(undefined);
      waiters.clear();
    },
  };
}
