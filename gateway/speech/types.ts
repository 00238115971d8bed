/**
 * The speech engines as the session sees them: streaming speech-to-text, end-of-turn
 * detection, and text-to-speech. Providers (sherpa-onnx, Groq Whisper, espeak-ng, the
 * test fakes) implement these; the session never knows which one it talks to.
 * Their health and errors are every provider's (gateway/providers.ts).
 */
import type { ProviderHealth } from '../providers.ts';

// ---- speech-to-text ---------------------------------------------------------

/** All audio the gateway gives a recognizer is 16 kHz mono float32 in [-1, 1]. */
export const STT_SAMPLE_RATE = 16000;

export interface SttCapabilities {
  /** Decodes while audio arrives (false: buffers and transcribes on finish). */
  streaming: boolean;
  /** Emits partial transcripts. */
  partials: boolean;
}

export interface SttStreamOptions {
  language?: string;
  /** Aborting releases the stream's resources; `finish()` then rejects. */
  signal: AbortSignal;
  /** Called with each new partial transcript (only when the text changed). */
  onPartial?: (text: string) => void;
  /**
   * `auto` listen mode: a provider that runs a VAD over the audio anyway (sherpa's Silero
   * gate) ends the turn with it, calling this once when the configured trailing silence
   * follows speech. Only streams whose `endsTurns` is true ever call it.
   */
  onTurnEnd?: () => void;
}

export interface SttStream {
  /** 16 kHz mono float32 samples in [-1, 1]. */
  push(samples: Float32Array): void;
  /** No more audio: resolves with the final transcript (possibly ""). */
  finish(): Promise<{ text: string }>;
  /** True when this stream calls `onTurnEnd` (then the session needs no detector of its own). */
  readonly endsTurns?: boolean;
  /**
   * A stream with a bounded queue resolves this once what was pushed is with the recognizer;
   * a producer faster than real time (a whole file) awaits it between pieces.
   */
  drain?(): Promise<void>;
}

export interface SttProvider {
  readonly name: string;
  readonly capabilities: SttCapabilities;
  health(): ProviderHealth;
  /** Opens a stream for one turn. Throws ProviderError when the provider cannot serve. */
  createStream(options: SttStreamOptions): SttStream;
  close?(): Promise<void>;
}

// ---- end of turn (VAD) ------------------------------------------------------

/** Decides, in `auto` listen mode, when the speaker has finished. */
export interface TurnEndDetector {
  /** Feeds 16 kHz mono float32 samples; returns true once trailing silence ends the turn. */
  accept(samples: Float32Array): boolean;
  /** A detector that decides elsewhere (on a worker) calls this once when it has; `accept` may learn it late. */
  onEnded?(listener: () => void): void;
  /** Gives back what the detector holds (its Silero instance); every turn end calls it. Idempotent. */
  release?(): void;
}

/** Tells when someone starts speaking: realtime listening starts turns (and barges in) with it. */
export interface SpeechStartDetector {
  /** Feeds 16 kHz mono float32 samples; true once speech is heard. */
  accept(samples: Float32Array): boolean;
  /** A detector that decides elsewhere (on a worker) calls this when it hears speech; `accept` then returns false. */
  onSpeech?(listener: () => void): void;
  /** Forgets what it heard: the next `accept` starts from silence. */
  reset(): void;
  /** Returns its resources (a pooled VAD); it accepts nothing afterwards. */
  release(): void;
}

export interface TurnEndDetectorFactory {
  create(): TurnEndDetector;
  /** The same VAD watching for the start of speech; absent: realtime listening falls back to `auto`. */
  createSpeechStart?(): SpeechStartDetector;
}

// ---- pauses (preemptive generation) ------------------------------------------

/** Whether the speaker is silent right now (a pause, not yet the end of the turn), from one turn's audio. */
export interface PauseDetector {
  /** Feeds 16 kHz mono float32 samples. */
  accept(samples: Float32Array): void;
  silentNow(): boolean;
}

// ---- text-to-speech ---------------------------------------------------------

export interface TtsVoice {
  id: string;
  provider: string;
  language?: string;
  sampleRate: number;
}

export interface SynthesisOptions {
  voice?: string;
  /** 1 = normal. */
  speed?: number;
  signal: AbortSignal;
}

/** Mono float32 PCM in [-1, 1] at the voice's own rate. */
export interface SynthesizedAudio {
  samples: Float32Array;
  sampleRate: number;
}

export interface TtsProvider {
  readonly name: string;
  health(): ProviderHealth;
  voices(): TtsVoice[];
  synthesize(text: string, options: SynthesisOptions): Promise<SynthesizedAudio>;
  close?(): Promise<void>;
}
