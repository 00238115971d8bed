/** Messages between the espeak-ng provider (main thread) and its worker (espeak-worker.ts). */
import type { WorkerStopRequest } from './workers/speech-worker.ts';

export interface EspeakWorkerData {
  binary: string;
  /** Arguments every run starts with (e.g. --path=<data dir>). */
  baseArgs: string[];
  /** The voice list at start-up is quick; this only catches a wedged binary. */
  voiceListTimeoutMs: number;
}

/** Sent with `ready`: `espeak-ng --voices` as printed. */
export interface EspeakReady {
  type: 'ready';
  voiceList: string;
}

export type EspeakWorkerRequest =
  | { type: 'synthesize'; id: number; args: string[]; text: string; timeoutMs: number }
  /** Kills the job's process (the reply was aborted). */
  | { type: 'cancel'; id: number }
  | WorkerStopRequest;

export type EspeakWorkerEvent =
  /** `samples` is transferred. */
  | { type: 'audio'; id: number; samples: Float32Array; sampleRate: number }
  | { type: 'error'; id: number; message: string; reason: 'unavailable' | 'failed' | 'timeout' | 'aborted' };
