/** Messages between the espeak-ng provider and its host process (espeak-host.ts), over IPC (advanced serialization). */

/** Sent once the host has listed the voices: `espeak-ng --voices` as printed. */
export interface EspeakReady {
  type: 'ready';
  voiceList: string;
}

export interface EspeakInitError {
  type: 'init-error';
  message: string;
}

export type EspeakHostRequest =
  | { type: 'synthesize'; id: number; args: string[]; text: string; timeoutMs: number }
  /** Kills the job's process (the reply was aborted). */
  | { type: 'cancel'; id: number };

export type EspeakHostEvent =
  | EspeakReady
  | EspeakInitError
  | { type: 'audio'; id: number; samples: Float32Array; sampleRate: number }
  | { type: 'error'; id: number; message: string; reason: 'unavailable' | 'failed' | 'timeout' | 'aborted' };
