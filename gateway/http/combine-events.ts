/**
 * Several SessionEvents listeners as one (metrics, the home-automation bridge, a caller's
 * own). Each gets every event even when an earlier one throws; the first error is thrown
 * again afterwards so the session hub's guard logs it.
 */
import type { SessionEventName, SessionEvents } from '../session/events.ts';

const EVENT_NAMES: readonly SessionEventName[] = [
  'deviceConnected',
  'deviceDisconnected',
  'stateChanged',
  'transcript',
  'reply',
  'status',
  'button',
  'conversationReset',
  'turnRecorded',
];

export function combineSessionEvents(...all: Array<SessionEvents | undefined>): SessionEvents {
  const listeners = all.filter((e): e is SessionEvents => e !== undefined);
  const combined: Record<string, (e: never) => void> = {};
  for (const name of EVENT_NAMES) {
    const interested = listeners.filter((l) => typeof l[name] === 'function');
    if (interested.length === 0) continue;
    combined[name] = (e: never) => {
      let firstError: unknown;
      let failed = false;
      for (const listener of interested) {
        try {
          (listener[name] as (e: never) => void).call(listener, e);
        } catch (err) {
          if (!failed) firstError = err;
          failed = true;
        }
      }
      if (failed) throw firstError;
    };
  }
  return combined as SessionEvents;
}
