/**
 * Models voxgate knows how to install: official sherpa-onnx release assets. Each entry
 * says what must exist after installing, which is what `models verify` checks (plus a
 * load test). Checksums are given only where one is published by the source; the others
 * are verified by structure and by loading them.
 */
import type { SttModelType, TtsModelType } from '../speech-config.ts';

/** Where sherpa-onnx publishes its models; `speech.modelsBaseUrl` (VOXGATE_MODELS_BASE_URL) replaces it (a mirror, a test server). */
export const DEFAULT_MODELS_BASE_URL = 'https://github.com/k2-fsa/sherpa-onnx/releases/download';
const ASR_RELEASE = `${DEFAULT_MODELS_BASE_URL}/asr-models`;
const TTS_RELEASE = `${DEFAULT_MODELS_BASE_URL}/tts-models`;

export type ModelKind = 'stt' | 'tts' | 'vad';

export interface CatalogueModel {
  name: string;
  kind: ModelKind;
  description: string;
  url: string;
  /** `tar.bz2`: an archive whose top-level directory is `name`; `file`: a single file saved as `fileName`. */
  archive: 'tar.bz2' | 'file';
  /** For `file` models: the name it is saved under, inside <modelsDir>/<name>/. */
  fileName?: string;
  /** Paths relative to the installed directory that must exist (a trailing / means a directory). */
  requiredFiles: string[];
  /** When known: the downloaded asset's SHA-256 (hex) and size in bytes. */
  sha256?: string;
  bytes?: number;
  sttType?: SttModelType;
  ttsType?: TtsModelType;
  /** Explicit model files relative to the installed directory (otherwise found by pattern). */
  files?: Record<string, string>;
}

export const MODEL_CATALOGUE: readonly CatalogueModel[] = [
  {
    name: 'sherpa-onnx-streaming-zipformer-en-20M-2023-02-17',
    kind: 'stt',
    description: 'English streaming zipformer, 20M parameters: fast on CPU, Raspberry Pi and Jetson (default)',
    url: `${ASR_RELEASE}/sherpa-onnx-streaming-zipformer-en-20M-2023-02-17.tar.bz2`,
    archive: 'tar.bz2',
    sttType: 'transducer',
    requiredFiles: [
      'encoder-epoch-99-avg-1.onnx',
      'decoder-epoch-99-avg-1.onnx',
      'joiner-epoch-99-avg-1.onnx',
      'tokens.txt',
    ],
  },
  {
    name: 'sherpa-onnx-streaming-zipformer-en-2023-06-26',
    kind: 'stt',
    description: 'English streaming zipformer (larger, more accurate; wants a desktop CPU or a GPU)',
    url: `${ASR_RELEASE}/sherpa-onnx-streaming-zipformer-en-2023-06-26.tar.bz2`,
    archive: 'tar.bz2',
    sttType: 'transducer',
    requiredFiles: [
      'encoder-epoch-99-avg-1-chunk-16-left-128.onnx',
      'decoder-epoch-99-avg-1-chunk-16-left-128.onnx',
      'joiner-epoch-99-avg-1-chunk-16-left-128.onnx',
      'tokens.txt',
    ],
    // The archive holds two latency variants (left-64 and left-128): pin the better one.
    files: {
      encoder: 'encoder-epoch-99-avg-1-chunk-16-left-128.onnx',
      decoder: 'decoder-epoch-99-avg-1-chunk-16-left-128.onnx',
      joiner: 'joiner-epoch-99-avg-1-chunk-16-left-128.onnx',
      tokens: 'tokens.txt',
    },
  },
  {
    name: 'vits-piper-en_US-amy-low',
    kind: 'tts',
    description: 'Piper English (US) voice "amy", low quality 16 kHz: small and quick (default voice)',
    url: `${TTS_RELEASE}/vits-piper-en_US-amy-low.tar.bz2`,
    archive: 'tar.bz2',
    ttsType: 'vits',
    requiredFiles: ['en_US-amy-low.onnx', 'tokens.txt', 'espeak-ng-data/'],
  },
  {
    name: 'vits-piper-en_US-lessac-medium',
    kind: 'tts',
    description: 'Piper English (US) voice "lessac", medium quality 22 kHz: more natural, a little slower',
    url: `${TTS_RELEASE}/vits-piper-en_US-lessac-medium.tar.bz2`,
    archive: 'tar.bz2',
    ttsType: 'vits',
    requiredFiles: ['en_US-lessac-medium.onnx', 'tokens.txt', 'espeak-ng-data/'],
  },
  {
    name: 'silero-vad',
    kind: 'vad',
    description: 'Silero voice activity detector: ends hands-free turns, skips decoding silence',
    url: `${ASR_RELEASE}/silero_vad.onnx`,
    archive: 'file',
    fileName: 'silero_vad.onnx',
    requiredFiles: ['silero_vad.onnx'],
  },
];

export function findCatalogueModel(name: string): CatalogueModel | undefined {
  return MODEL_CATALOGUE.find((model) => model.name === name);
}

/** Where to download `model` from: its URL with the release base replaced by `baseUrl` when one is set. */
export function modelDownloadUrl(model: CatalogueModel, baseUrl?: string): string {
  if (!baseUrl || !model.url.startsWith(`${DEFAULT_MODELS_BASE_URL}/`)) return model.url;
  return `${baseUrl.replace(/\/+$/, '')}${model.url.slice(DEFAULT_MODELS_BASE_URL.length)}`;
}

/** The command a person runs to install a catalogue model. */
export function installCommand(...names: string[]): string {
  return `voxgate models pull ${names.join(' ')}`;
}
