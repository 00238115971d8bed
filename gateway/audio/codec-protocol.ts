/** Messages between the codec pool (main thread) and its workers (codec-worker.ts). */
import type { GatewayAudioParams } from '../../protocol/index.ts';
import type { VadSettings } from '../speech/vad/silero-config.ts';
import type { WorkerStopRequest } from '../speech/workers/speech-worker.ts';
import type { AudioConverter, AudioDecodeErrorCode, ConverterName } from './upload-decode.ts';

export interface CodecWorkerData {
  /** Rates whose resampler converters the worker keeps (the engines' and devices'). */
  cachedRates: number[];
  /** Silero settings for the detectors: the end of a turn (when the recognizer cannot end turns itself), the start of speech (realtime listening). */
  vad?: VadSettings;
}

/** What a Silero detector on a worker listens for. */
export type VadKind = 'turn-end' | 'speech-start';

export interface CodecWorkerStats {
  /** Resampler converters alive in the worker (each holds ~8 MB of wasm buffers). */
  converters: number;
  replyStreams: number;
  detectors: number;
  /** The worker's heap and its external (ArrayBuffer, wasm) memory, in bytes. */
  heapUsed: number;
  external: number;
}

export type CodecWorkerRequest =
  /** A reply stream: one Opus (or pcm16) encoder whose state runs on from clip to clip. */
  | { type: 'reply-open'; stream: number; params: GatewayAudioParams; bitrate?: number }
  /** `samples` is transferred. Clips of a stream are encoded in the order they arrive; the first `headFrames` are sent ahead. */
  | { type: 'reply-encode'; job: number; stream: number; samples: Float32Array; sampleRate: number; headFrames: number }
  | { type: 'reply-close'; stream: number }
  /** `data` is transferred. */
  | { type: 'decode-upload'; job: number; data: Uint8Array; converter?: AudioConverter; filename?: string; mimeType?: string; maxSeconds: number; timeoutMs: number }
  /** `samples` is transferred. */
  | { type: 'resample'; job: number; samples: Float32Array; fromRate: number; toRate: number }
  /** Stops a decode job's converter (the HTTP request went away). */
  | { type: 'cancel'; job: number }
  /** What the worker holds (health, tests). */
  | { type: 'stats'; job: number }
  | { type: 'vad-open'; detector: number; kind: VadKind }
  /** `samples` is transferred (16 kHz mono float32). */
  | { type: 'vad-audio'; detector: number; samples: Float32Array }
  /** A speech-start detector that was heard listens for the next start of speech. */
  | { type: 'vad-reset'; detector: number }
  | { type: 'vad-close'; detector: number }
  | WorkerStopRequest;

export type CodecWorkerEvent =
  /**
   * Reply packets back to back in `data` (transferred); `sizes[i]` is packet i's length. A clip
   * comes in two parts: its head as soon as it is encoded, then the rest (`last`).
   */
  | { type: 'packets'; job: number; data: Uint8Array; sizes: Uint32Array; last: boolean }
  /** `samples` is transferred. */
  | { type: 'decoded'; job: number; samples: Float32Array; durationSeconds: number; decoder: 'wav' | ConverterName }
  | { type: 'resampled'; job: number; samples: Float32Array }
  | { type: 'stats'; job: number; stats: CodecWorkerStats }
  | { type: 'error'; job: number; message: string; code?: AudioDecodeErrorCode }
  /**
   * turn-end: speech followed by the configured silence (the detector is then gone);
   * speech-start: speech (once, until `vad-reset`).
   */
  | { type: 'vad-heard'; detector: number }
  | { type: 'vad-error'; detector: number; message: string };
