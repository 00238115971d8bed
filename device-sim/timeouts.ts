/**
 * Every wait of the simulated device, as a named constant with the reason for its size.
 * They are generous on purpose: the simulator runs on loaded CI machines and must tell a
 * dead gateway from a slow one, not measure speed (timings are measured, never asserted here).
 * Each one can be overridden per device through `SimDeviceOptions.timeouts`.
 */

/** TCP connect + WebSocket upgrade or MQTT CONNACK; on a LAN this takes milliseconds, longer means no gateway. */
export const CONNECT_TIMEOUT_MS = 10_000;
/** The gateway answers `hello` at once; it has nothing to load per device. */
export const HELLO_TIMEOUT_MS = 10_000;
/** Release → `stt final`: the gateway waits ≤300 ms for frames in flight, then flushes the recognizer (worker thread, maybe queued). */
export const FINAL_TIMEOUT_MS = 30_000;
/** `stt final` → `tts start`: an LLM round trip to a remote API plus the first sentence's synthesis. */
export const REPLY_START_TIMEOUT_MS = 30_000;
/** Longest silence allowed while a reply is being spoken: audio is paced in real time, so gaps are short. */
export const REPLY_IDLE_TIMEOUT_MS = 15_000;
/** After an empty `stt final` the gateway may still start a short spoken prompt; if none starts by then, the turn had no reply. */
export const EMPTY_FINAL_GRACE_MS = 2_000;
/** After a gateway `error` for the turn, how long to wait for the turn's closing messages before giving up on them. */
export const ERROR_SETTLE_MS = 2_000;
/** `abort` → `tts stop`: the gateway must cancel synthesis and stop the pacer promptly. */
export const ABORT_STOP_TIMEOUT_MS = 5_000;
/**
 * MQTT only: `tts stop` (QoS 1, down/ctrl) can overtake the last reply frames (QoS 0, down/audio),
 * and `tts stop` carries no frame count, so keep collecting the turn's audio this long after it
 * (the same bound the protocol gives the gateway for microphone frames, docs/protocol.md §1.3).
 */
export const MQTT_REPLY_TAIL_MS = 300;
/** `ping` → `pong`: a trivial round trip. */
export const PONG_TIMEOUT_MS = 5_000;
/** Sending `goodbye` and closing the socket; past this the socket is destroyed instead. */
export const CLOSE_TIMEOUT_MS = 2_000;

export interface SimTimeouts {
  connectMs: number;
  helloMs: number;
  finalMs: number;
  replyStartMs: number;
  replyIdleMs: number;
  emptyFinalGraceMs: number;
  errorSettleMs: number;
  abortStopMs: number;
  mqttReplyTailMs: number;
  pongMs: number;
  closeMs: number;
}

export const DEFAULT_SIM_TIMEOUTS: Readonly<SimTimeouts> = Object.freeze({
  connectMs: CONNECT_TIMEOUT_MS,
  helloMs: HELLO_TIMEOUT_MS,
  finalMs: FINAL_TIMEOUT_MS,
  replyStartMs: REPLY_START_TIMEOUT_MS,
  replyIdleMs: REPLY_IDLE_TIMEOUT_MS,
  emptyFinalGraceMs: EMPTY_FINAL_GRACE_MS,
  errorSettleMs: ERROR_SETTLE_MS,
  abortStopMs: ABORT_STOP_TIMEOUT_MS,
  mqttReplyTailMs: MQTT_REPLY_TAIL_MS,
  pongMs: PONG_TIMEOUT_MS,
  closeMs: CLOSE_TIMEOUT_MS,
});

export function resolveTimeouts(overrides: Partial<SimTimeouts> | undefined): SimTimeouts {
  const merged = { ...DEFAULT_SIM_TIMEOUTS, ...overrides };
  for (const [name, value] of Object.entries(merged)) {
    if (!Number.isFinite(value) || value < 0) throw new RangeError(`timeout ${name} must be a non-negative number of ms, got ${value}`);
  }
  return merged;
}
