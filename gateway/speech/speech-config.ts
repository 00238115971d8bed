/**
 * The `speech` section of the gateway config (gateway/config.ts composes it): which STT/TTS
 * providers serve, in fallback order, where models live and how sherpa-onnx, Silero VAD
 * and espeak-ng are tuned. Every default carries a one-line reason.
 */
import { z } from 'zod';

const list = <T extends string>(values: readonly [T, ...T[]]) =>
  z.preprocess(
    (value) => (typeof value === 'string' ? value.split(',').map((s) => s.trim()).filter(Boolean) : value),
    z.array(z.enum(values)).min(1),
  );
const positiveInt = z.coerce.number().int().positive();
const bool = z.preprocess((v) => (v === 'false' || v === '0' ? false : v === 'true' || v === '1' ? true : v), z.boolean());

export const STT_PROVIDER_NAMES = ['sherpa', 'groq'] as const;
export const TTS_PROVIDER_NAMES = ['sherpa', 'espeak'] as const;
export const STT_MODEL_TYPES = ['transducer', 'paraformer', 'zipformer2-ctc', 'nemo-ctc', 'tone-ctc'] as const;
export const TTS_MODEL_TYPES = ['vits', 'matcha', 'kokoro'] as const;
export type SttModelType = (typeof STT_MODEL_TYPES)[number];
export type TtsModelType = (typeof TTS_MODEL_TYPES)[number];

/** sherpa-onnx streaming recognizer. */
export const SherpaSttSchema = z.object({
  /** A catalogue name (installed under modelsDir) or a model directory path. Small English zipformer: runs on CPU/Jetson. */
  model: z.string().min(1).default('sherpa-onnx-streaming-zipformer-en-20M-2023-02-17'),
  /** Unset: the catalogue's type, else guessed from the files in the directory. */
  modelType: z.enum(STT_MODEL_TYPES).optional(),
  /** Explicit file paths; override what is found in the model directory. */
  files: z
    .object({
      encoder: z.string().optional(),
      decoder: z.string().optional(),
      joiner: z.string().optional(),
      model: z.string().optional(),
      tokens: z.string().optional(),
    })
    .default({}),
  /** Prefer `*.int8.onnx` encoder/joiner when present: about 2× faster on CPU for a small accuracy cost. */
  preferInt8: bool.default(true),
  /** One intra-op thread per recognizer: the pool's workers give the parallelism. */
  numThreads: positiveInt.default(1),
  /** `cuda` only with a CUDA build of sherpa-onnx (Jetson/NVIDIA). */
  provider: z.enum(['cpu', 'cuda', 'coreml']).default('cpu'),
  /** Decoding workers (one recognizer each); streams are pinned to one. One per spare core is plenty. */
  workers: positiveInt.max(32).default(1),
  decodingMethod: z.enum(['greedy_search', 'modified_beam_search']).default('greedy_search'),
  /** Silence appended before inputFinished so the encoder's look-ahead flushes the last word. */
  tailPaddingMs: z.coerce.number().int().min(0).max(3000).default(800),
  /** Feed the recognizer only what Silero VAD calls speech (plus padding): silence costs no decoding. */
  gate: bool.default(true),
  /** Audio kept before the VAD confirms speech, so the first syllable is not cut. */
  gatePrerollMs: z.coerce.number().int().min(0).max(2000).default(500),
  /**
   * A stream's final is given up on (`stt_unavailable`, and the next provider may take the
   * turn) when its worker has shown no progress for this long: a healthy worker answers
   * within tens of milliseconds; one stuck in a native call never does.
   */
  finishTimeoutMs: positiveInt.default(5_000),
  /**
   * Audio one stream may have waiting for its worker (beyond the 2 s a worker holds at a time).
   * Two minutes: the longest clip the Wyoming server hands over at once; devices send at most
   * a turn (30 s) and the HTTP API paces itself. More fails the stream: its worker is stuck.
   */
  maxQueuedMs: positiveInt.default(120_000),
});

/** Silero VAD (turn end in `auto` mode, the recognizer's gate, silence trimming). */
export const VadSchema = z.object({
  /** Unset: <modelsDir>/silero-vad/silero_vad.onnx (`voxgate models pull silero-vad`). */
  model: z.string().optional(),
  /** Trailing silence that ends an `auto` turn: long enough for a breath between phrases. */
  silenceMs: positiveInt.default(700),
  /** Silero's speech probability threshold (its authors' default). */
  threshold: z.coerce.number().gt(0).lt(1).default(0.5),
  /** Shorter blips (clicks, coughs) are not speech. */
  minSpeechMs: positiveInt.default(250),
});

/** sherpa-onnx offline TTS (piper/VITS by default). */
export const SherpaTtsSchema = z.object({
  /** A catalogue name (installed under modelsDir) or a voice directory path. */
  voice: z.string().min(1).default('vits-piper-en_US-amy-low'),
  modelType: z.enum(TTS_MODEL_TYPES).optional(),
  files: z
    .object({
      model: z.string().optional(),
      tokens: z.string().optional(),
      lexicon: z.string().optional(),
      dataDir: z.string().optional(),
      voices: z.string().optional(),
      acousticModel: z.string().optional(),
      vocoder: z.string().optional(),
    })
    .default({}),
  speakerId: z.coerce.number().int().min(0).default(0),
  /** 1 = the voice's natural pace. */
  speed: z.coerce.number().min(0.25).max(4).default(1),
  numThreads: positiveInt.default(1),
  provider: z.enum(['cpu', 'cuda', 'coreml']).default('cpu'),
  /** Generation workers; sentences of one reply are generated in order, replies of devices in parallel. */
  workers: positiveInt.max(32).default(1),
});

export const EspeakSchema = z.object({
  binary: z.string().min(1).default('espeak-ng'),
  voice: z.string().min(1).default('en-us'),
  /** Words per minute at speed 1 (espeak-ng's own default is 175; a little slower is clearer on a tiny speaker). */
  wordsPerMinute: positiveInt.default(165),
  /** Unset: found among the usual install places (Debian: /usr/lib/<arch>/espeak-ng-data). Also used by piper voices without their own. */
  dataDir: z.string().optional(),
  /** A sentence takes espeak-ng a few ms; this only catches a hung process. */
  timeoutMs: positiveInt.default(10_000),
  /** espeak-ng processes at once (each takes a core for tens of ms): more would only queue in the kernel, with forks on top. */
  maxConcurrent: positiveInt.max(64).default(4),
});

/** Groq Whisper (cloud, non-streaming). */
export const WhisperSchema = z.object({
  /** Long enough for a 30 s turn over a slow uplink. */
  timeoutMs: positiveInt.default(15_000),
  /** Retries of 408/409/429/5xx/connection failures (groq-sdk backs off between them). */
  maxRetries: z.coerce.number().int().min(0).max(5).default(2),
});

/** `off`/`false`/`0`/`no` switch it off; anything else is on. */
const onOff = z.preprocess((v) => (typeof v === 'string' ? !/^(off|false|0|no)$/i.test(v.trim()) : v), z.boolean());

export const SpeechSchema = z.object({
  /**
   * At start, download the configured catalogue models that are missing (in the background:
   * `ready` does not wait). Off: `voxgate models pull <name>` by hand.
   */
  autoPull: onOff.default(true),
  /** Replaces https://github.com/k2-fsa/sherpa-onnx/releases/download in model URLs (a mirror). */
  modelsBaseUrl: z.string().url().optional(),
  /** STT providers in fallback order (VOXGATE_STT=sherpa|groq|sherpa,groq). */
  stt: list(STT_PROVIDER_NAMES).default(['sherpa', 'groq']),
  /** TTS providers in fallback order; espeak-ng needs no download, so a fresh install can speak. */
  tts: list(TTS_PROVIDER_NAMES).default(['sherpa', 'espeak']),
  /** Unset: <dataDir>/models. */
  modelsDir: z.string().optional(),
  /** A model that loads slower than this (in a probe process) is reported broken. */
  modelLoadTimeoutMs: positiveInt.default(120_000),
  sherpaStt: SherpaSttSchema.default(SherpaSttSchema.parse({})),
  vad: VadSchema.default(VadSchema.parse({})),
  sherpaTts: SherpaTtsSchema.default(SherpaTtsSchema.parse({})),
  espeak: EspeakSchema.default(EspeakSchema.parse({})),
  whisper: WhisperSchema.default(WhisperSchema.parse({})),
});
export type SpeechConfig = z.infer<typeof SpeechSchema>;

/** Environment variable → config path for the speech section (merged into ENV_VARS). */
export const SPEECH_ENV_VARS: Record<string, string> = {
  VOXGATE_STT: 'speech.stt',
  VOXGATE_TTS: 'speech.tts',
  VOXGATE_MODELS_DIR: 'speech.modelsDir',
  VOXGATE_AUTO_PULL: 'speech.autoPull',
  VOXGATE_MODELS_BASE_URL: 'speech.modelsBaseUrl',
  VOXGATE_STT_MODEL: 'speech.sherpaStt.model',
  VOXGATE_STT_MODEL_TYPE: 'speech.sherpaStt.modelType',
  VOXGATE_STT_THREADS: 'speech.sherpaStt.numThreads',
  VOXGATE_STT_PROVIDER: 'speech.sherpaStt.provider',
  VOXGATE_STT_WORKERS: 'speech.sherpaStt.workers',
  VOXGATE_STT_GATE: 'speech.sherpaStt.gate',
  VOXGATE_STT_FINISH_TIMEOUT_MS: 'speech.sherpaStt.finishTimeoutMs',
  VOXGATE_VAD_MODEL: 'speech.vad.model',
  VOXGATE_VAD_SILENCE_MS: 'speech.vad.silenceMs',
  VOXGATE_VAD_THRESHOLD: 'speech.vad.threshold',
  VOXGATE_TTS_VOICE: 'speech.sherpaTts.voice',
  VOXGATE_TTS_MODEL_TYPE: 'speech.sherpaTts.modelType',
  VOXGATE_TTS_SPEAKER: 'speech.sherpaTts.speakerId',
  VOXGATE_TTS_SPEED: 'speech.sherpaTts.speed',
  VOXGATE_TTS_WORKERS: 'speech.sherpaTts.workers',
  VOXGATE_ESPEAK_VOICE: 'speech.espeak.voice',
  VOXGATE_ESPEAK_DATA_DIR: 'speech.espeak.dataDir',
  VOXGATE_ESPEAK_MAX_CONCURRENT: 'speech.espeak.maxConcurrent',
};
