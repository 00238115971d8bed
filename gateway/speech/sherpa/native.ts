/**
 * The slice of sherpa-onnx-node (a CommonJS native addon without type declarations) that
 * voxgate uses, typed. Loaded lazily so that importing a provider never loads the addon.
 */
import { createRequire } from 'node:module';

export interface Waveform {
  samples: Float32Array;
  sampleRate: number;
}

export interface OnlineStream {
  acceptWaveform(wave: Waveform): void;
  inputFinished(): void;
  setOption(key: string, value: string): void;
}

export interface OnlineRecognizerResult {
  text: string;
  tokens?: string[];
  timestamps?: number[];
}

export interface OnlineRecognizer {
  createStream(): OnlineStream;
  isReady(stream: OnlineStream): boolean;
  decode(stream: OnlineStream): void;
  decodeStreams(streams: OnlineStream[]): void;
  getResult(stream: OnlineStream): OnlineRecognizerResult;
}

/** sherpa-onnx's OnlineRecognizerConfig (the fields voxgate sets). */
export interface OnlineRecognizerConfig {
  featConfig: { sampleRate: number; featureDim: number };
  modelConfig: {
    transducer?: { encoder: string; decoder: string; joiner: string };
    paraformer?: { encoder: string; decoder: string };
    zipformer2Ctc?: { model: string };
    nemoCtc?: { model: string };
    toneCtc?: { model: string };
    tokens: string;
    numThreads: number;
    provider: string;
    debug: number;
  };
  decodingMethod: string;
  maxActivePaths?: number;
  enableEndpoint: number;
}

export interface VadConfig {
  sileroVad: {
    model: string;
    threshold: number;
    minSilenceDuration: number;
    minSpeechDuration: number;
    windowSize: number;
    maxSpeechDuration?: number;
  };
  sampleRate: number;
  numThreads: number;
  provider: string;
  debug: number;
}

export interface SpeechSegment {
  start: number;
  samples: Float32Array;
}

export interface Vad {
  acceptWaveform(samples: Float32Array): void;
  isEmpty(): boolean;
  isDetected(): boolean;
  pop(): void;
  front(enableExternalBuffer?: boolean): SpeechSegment;
  reset(): void;
  flush(): void;
}

/** sherpa-onnx's OfflineTtsConfig (the fields voxgate sets). */
export interface OfflineTtsConfig {
  model: {
    vits?: { model: string; tokens: string; lexicon?: string; dataDir?: string };
    matcha?: { acousticModel: string; vocoder: string; tokens: string; lexicon?: string; dataDir?: string };
    kokoro?: { model: string; voices: string; tokens: string; lexicon?: string; dataDir?: string };
    numThreads: number;
    provider: string;
    debug: number;
  };
  /** Sentences per generated chunk: we already hand it one sentence at a time. */
  maxNumSentences: number;
}

export interface OfflineTts {
  readonly sampleRate: number;
  readonly numSpeakers: number;
  generate(request: { text: string; sid: number; speed: number; enableExternalBuffer?: boolean }): {
    samples: Float32Array;
    sampleRate: number;
  };
}

export interface SherpaOnnx {
  OnlineRecognizer: new (config: OnlineRecognizerConfig) => OnlineRecognizer;
  Vad: new (config: VadConfig, bufferSizeInSeconds: number) => Vad;
  OfflineTts: new (config: OfflineTtsConfig) => OfflineTts;
  version: string;
}

const require = createRequire(import.meta.url);
let cached: SherpaOnnx | undefined;

/** Loads the addon (once). Throws when the platform package is missing. */
export function loadSherpa(): SherpaOnnx {
  cached ??= require('sherpa-onnx-node') as SherpaOnnx;
  return cached;
}

/** Absolute path of sherpa-onnx-node's entry, for processes that load it by themselves. */
export function sherpaModulePath(): string {
  return require.resolve('sherpa-onnx-node');
}
