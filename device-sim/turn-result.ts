/** What one simulated turn produced, as the device saw it (clock: the device's performance.now()). */
import type { ErrorCode, TtsStopReason } from '../protocol/index.ts';

export type TurnKind = 'audio' | 'typed';

/**
 * Why the turn ended: the gateway's `tts stop` reason; `no_reply` (an empty transcript and no
 * reply); `timeout` (the gateway went quiet, see timeouts.ts); `error` (a gateway `error` and then
 * nothing more for the turn); `disconnected` (the connection ended first).
 */
export type TurnStopReason = TtsStopReason | 'no_reply' | 'timeout' | 'disconnected';

export type ProtocolIssueKind =
  /** The gateway sent an `error` message. */
  | 'gateway_error'
  /** A control message that is not JSON or does not match the protocol. */
  | 'invalid_message'
  /** A reply audio frame or packet that cannot be decoded. */
  | 'invalid_audio'
  /** The gateway did not answer within one of the limits of timeouts.ts. */
  | 'timeout'
  /** Could not connect, or the connection was lost. */
  | 'connection'
  /** A valid message that breaks the protocol's rules (a second hello, reply params not as asked). */
  | 'unexpected';

export interface ProtocolIssue {
  kind: ProtocolIssueKind;
  message: string;
  /** The gateway's error code, for `gateway_error`. */
  code?: ErrorCode;
  turn?: number;
  /** performance.now() when it was noticed. */
  atMs: number;
}

export interface TurnTimings {
  /** Press → release: how long the microphone streamed (audio turns). */
  streamMs: number | null;
  /** Release (`listen stop` or `listen detect` sent) → `stt final` received. */
  releaseToFinalMs: number | null;
  /** Release → first reply audio packet received. */
  releaseToFirstAudioMs: number | null;
  /** Press (or typed text sent) → end of the turn (`tts stop`, or whatever ended it). */
  totalMs: number;
  /** `abort` sent → `tts stop` received. */
  abortToStopMs: number | null;
  /** `abort` sent → last reply audio packet received (0 when none came after it). */
  abortToLastAudioMs: number | null;
}

export interface ReplyAudio {
  samples: Float32Array;
  sampleRate: number;
  packets: number;
}

export interface TurnResult {
  kind: TurnKind;
  /** The turn id (device-chosen for audio turns, the gateway's for typed ones; null if none arrived). */
  turn: number | null;
  partials: string[];
  final: string | null;
  sentences: string[];
  replyAudio: ReplyAudio;
  stopReason: TurnStopReason;
  /** Protocol issues noticed during this turn (also kept on the device). */
  errors: ProtocolIssue[];
  /** Microphone frames sent (the `frames` of `listen stop`). */
  micFrames: number;
  /** Whether the device sent `abort` (abortAfterMs). */
  abortSent: boolean;
  /** Reply packets received after `abort` was sent. */
  audioPacketsAfterAbort: number;
  /** MQTT only: reply frames whose seq was not the previous one + 1 (lost or reordered QoS 0 frames). */
  replySeqGaps: number;
  timings: TurnTimings;
}

/** A TurnResult without raw audio, for JSON output and logs. */
export type TurnSummary = Omit<TurnResult, 'replyAudio'> & {
  replyAudio: { sampleRate: number; packets: number; durationMs: number };
};

export function summarizeTurn(result: TurnResult): TurnSummary {
  const { replyAudio, ...rest } = result;
  return {
    ...rest,
    replyAudio: {
      sampleRate: replyAudio.sampleRate,
      packets: replyAudio.packets,
      durationMs: Math.round((replyAudio.samples.length * 1000) / replyAudio.sampleRate),
    },
  };
}
