/**
 * What sessions tell the rest of the gateway (home-automation bridge, metrics, console):
 * typed callbacks, all optional. A listener that throws is logged and ignored, so a bug
 * there never disturbs a device.
 */
import type { ButtonEvent } from '../../protocol/index.ts';
import type { Logger } from '../logger.ts';
import type { TurnRecord } from '../store/types.ts';
import type { TransportName } from './link.ts';

/**
 * Why a speculative reply (preemptive generation) was thrown away: `changed` = the user went
 * on speaking or the final transcript differs; `empty` = the final was empty; `failed` = the
 * language model failed before its first sentence; `stt_failed` = the recognizer failed;
 * `aborted` = the turn was cut short (abort, barge-in, goodbye, disconnect).
 */
export type SpeculationDiscardReason = 'changed' | 'empty' | 'failed' | 'stt_failed' | 'aborted';

/** docs/protocol.md §4.1: what a connected device is doing. */
export type DeviceState = 'idle' | 'listening' | 'thinking' | 'speaking';
/** A session before its `hello` is not yet in any device state. */
export type SessionState = 'awaiting_hello' | DeviceState;

export interface SessionEvents {
  /** A device said hello (its session is ready). */
  deviceConnected?(e: { deviceId: string; transport: TransportName; sessionId: string }): void;
  /** A device's session ended (disconnect, goodbye, replaced, hello timeout, shutdown). */
  deviceDisconnected?(e: { deviceId: string; reason: string }): void;
  stateChanged?(e: { deviceId: string; state: DeviceState; turn?: number }): void;
  /** The final transcript of a turn (or the typed text). */
  transcript?(e: { deviceId: string; turn: number; text: string }): void;
  /** The reply actually spoken to the device in a turn (only when something was spoken). */
  reply?(e: { deviceId: string; turn: number; text: string }): void;
  /** Device telemetry (`status` message). */
  status?(e: { deviceId: string; battery?: number; charging?: boolean; rssi?: number }): void;
  /** Extra button gestures (`button` message). */
  button?(e: { deviceId: string; event: ButtonEvent }): void;
  /** The device asked to forget its conversation (`reset`). */
  conversationReset?(e: { deviceId: string }): void;
  /** A turn ended and was handed to the recorder. */
  turnRecorded?(record: TurnRecord): void;
  /**
   * Preemptive generation: a speculative reply started, was committed (it became the turn's
   * reply) or was discarded (every started one ends as exactly one of the two).
   */
  speculation?(
    e: { deviceId: string; turn: number } & ({ event: 'started' | 'committed' } | { event: 'discarded'; reason: SpeculationDiscardReason }),
  ): void;
}

export type SessionEventName = keyof SessionEvents;

export const SESSION_EVENT_NAMES: readonly SessionEventName[] = [
  'deviceConnected',
  'deviceDisconnected',
  'stateChanged',
  'transcript',
  'reply',
  'status',
  'button',
  'conversationReset',
  'turnRecorded',
  'speculation',
];

/**
 * Several SessionEvents listeners as one (metrics, the home-automation bridge, a caller's
 * own). Each gets every event even when an earlier one throws; the first error is thrown
 * again afterwards so the session hub's guard logs it.
 */
export function combineSessionEvents(...all: Array<SessionEvents | undefined>): SessionEvents {
  const listeners = all.filter((e): e is SessionEvents => e !== undefined);
  const combined: Record<string, (e: never) => void> = {};
  for (const name of SESSION_EVENT_NAMES) {
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


/** Wraps listeners so that a throwing one is logged once per event name and otherwise ignored. */
export function guardEvents(events: SessionEvents | undefined, logger: Logger): Required<SessionEvents> {
  const failed = new Set<string>();
  const guarded = {} as Record<SessionEventName, (e: never) => void>;
  for (const name of SESSION_EVENT_NAMES) {
    guarded[name] = (e: never) => {
      const listener = events?.[name] as ((e: never) => void) | undefined;
      if (!listener) return;
      try {
        listener.call(events, e);
      } catch (err) {
        if (!failed.has(name)) {
          failed.add(name);
          logger.error({ err, event: name }, 'session event listener threw (logged once per event)');
        }
      }
    };
  }
  return guarded as unknown as Required<SessionEvents>;
}
