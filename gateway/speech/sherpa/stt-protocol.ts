/** Messages between the sherpa STT provider (main thread) and its decoding workers. */
import type { WorkerStopRequest } from '../workers/speech-worker.ts';
import type { OnlineRecognizerConfig, VadConfig } from './native.ts';

export interface SttWorkerData {
  recognizer: OnlineRecognizerConfig;
  /** False when the model cannot decode several streams in one call (probed): one at a time then. */
  batch: boolean;
  /** Silero, when installed: a stream that is gated or ends its turn gets its own instance (one per turn). */
  vad?: VadConfig;
  /** When set (and `vad` is), each stream is gated by its Silero: silence is not decoded. */
  gatePrerollSamples?: number;
  /** Zeros appended before inputFinished so the last word is flushed out of the encoder. */
  tailPaddingSamples: number;
}

export type SttWorkerRequest =
  /** `endsTurn`: report `turn-end` when the VAD hears speech followed by its trailing silence (`auto` mode). */
  | { type: 'open'; id: number; language?: string; endsTurn?: boolean }
  /**
   * `samples` is transferred (16 kHz mono float32 in [-1, 1]). With `ack` (the stream's
   * running sample count through this message) the worker answers `ack` once this audio is decoded.
   */
  | { type: 'audio'; id: number; samples: Float32Array; ack?: number }
  | { type: 'finish'; id: number }
  | { type: 'abort'; id: number }
  | WorkerStopRequest;

export interface SttStreamStats {
  /** Samples the stream was given. */
  receivedSamples: number;
  /** Samples fed to the recognizer (after the gate, plus tail padding). */
  decodedSamples: number;
}

export type SttWorkerEvent =
  | { type: 'partial'; id: number; text: string }
  /** The stream's audio through sample `samples` has been decoded (backpressure: the provider sends more). */
  | { type: 'ack'; id: number; samples: number }
  /** `auto` mode: the speaker has finished. */
  | { type: 'turn-end'; id: number }
  | { type: 'final'; id: number; text: string; stats: SttStreamStats }
  | { type: 'error'; id: number; message: string };
