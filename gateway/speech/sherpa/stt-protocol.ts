/** Messages between the sherpa STT provider (main thread) and its decoding workers. */
import type { WorkerStopRequest } from '../workers/speech-worker.ts';
import type { OnlineRecognizerConfig, VadConfig } from './native.ts';

export interface SttWorkerData {
  recognizer: OnlineRecognizerConfig;
  /** False when the model cannot decode several streams in one call (probed): one at a time then. */
  batch: boolean;
  /** When set, each stream is gated by its own Silero VAD (silence is not decoded). */
  gate?: { vad: VadConfig; prerollSamples: number };
  /** Zeros appended before inputFinished so the last word is flushed out of the encoder. */
  tailPaddingSamples: number;
}

export type SttWorkerRequest =
  | { type: 'open'; id: number; language?: string }
  /** `samples` is transferred (16 kHz mono float32 in [-1, 1]). */
  | { type: 'audio'; id: number; samples: Float32Array }
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
  | { type: 'final'; id: number; text: string; stats: SttStreamStats }
  | { type: 'error'; id: number; message: string };
