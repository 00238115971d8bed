/** The records the store keeps, as the rest of the gateway sees them. Times are epoch ms. */

export interface DeviceRecord {
  id: string;
  name: string;
  createdAt: number;
  lastSeenAt: number | null;
  settings: Record<string, unknown>;
  /** Turns before this time are not part of the current conversation (protocol `reset`). */
  conversationStartedAt: number;
  /** Stock xiaozhi firmware only: the MAC it is known by (lower case, colon-separated). */
  mac?: string;
}

/** How a turn ended. */
export type TurnOutcome =
  | 'completed' // a reply was spoken to the end
  | 'empty' // nothing was heard (empty final transcript)
  | 'aborted' // barge-in, goodbye or disconnect cut it short
  | 'error'; // an engine failed; `errorCode` says which

/**
 * Per-stage timings in ms (stages not reached are absent). Stored as JSON, so new fields
 * need no migration; older rows simply lack them.
 */
export interface TurnTimings {
  /** Button released (listen stop) → final transcript. */
  releaseToFinalMs?: number;
  /** Final transcript → first LLM token; negative when a preempted reply had its first token before the final. */
  finalToFirstTokenMs?: number;
  /** First LLM token → first complete sentence. */
  firstTokenToFirstSentenceMs?: number;
  /** First complete sentence → first reply audio sent. */
  firstSentenceToFirstAudioMs?: number;
  /** Button released → first reply audio sent. */
  releaseToFirstAudioMs?: number;
  /** Turn start → turn end. */
  totalMs?: number;
  /** Milliseconds of microphone audio received. */
  audioMs?: number;
  /**
   * Preemptive generation: true when the reply was a speculation started before release and
   * committed at the final transcript; false when speculations ran but were all discarded;
   * absent when none ran.
   */
  preempted?: boolean;
  /** How long before release the committed speculation started. */
  speculationLeadMs?: number;
}

export interface TurnRecord {
  deviceId: string;
  /** The protocol turn id. */
  turn: number;
  kind: 'audio' | 'text';
  startedAt: number;
  endedAt: number;
  transcript: string;
  /** What the device was actually sent to speak (after a barge-in: only the spoken part). */
  reply: string;
  timings: TurnTimings;
  outcome: TurnOutcome;
  errorCode?: string;
}

/** What a session needs from the store. */
export interface TurnRecorder {
  recordTurn(turn: TurnRecord): void;
}
