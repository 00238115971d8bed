/** Messages between the sherpa TTS provider (main thread) and its generation workers. */
import type { WorkerStopRequest } from '../workers/speech-worker.ts';
import type { OfflineTtsConfig } from './native.ts';

export interface TtsWorkerData {
  tts: OfflineTtsConfig;
}

/** Sent with `ready`: what the loaded voice is. */
export interface TtsVoiceInfo {
  sampleRate: number;
  numSpeakers: number;
}

export type TtsWorkerRequest = { type: 'generate'; id: number; text: string; sid: number; speed: number } | WorkerStopRequest;

export type TtsWorkerEvent =
  /** `samples` is transferred. */
  | { type: 'audio'; id: number; samples: Float32Array; sampleRate: number; generateMs: number }
  | { type: 'error'; id: number; message: string };
