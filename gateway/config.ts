/**
 * The gateway's one typed configuration object. Sources, later ones winning:
 * defaults < JSON file (VOXGATE_CONFIG / --config) < environment < command-line flags.
 * No other module reads process.env: they receive the parts of this object they need.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { DEFAULT_TOPIC_PREFIX } from '../protocol/index.ts';
import { BRIDGE_ENV_VARS, BridgeSchema, HOME_ASSISTANT_ENV_VARS, HomeAssistantApiSchema } from './bridge/bridge-config.ts';
import { HTTP_ENV_VARS, HttpSchema } from './http/http-config.ts';
import { SPEECH_ENV_VARS, SpeechSchema } from './speech/speech-config.ts';
import { TRANSPORT_ENV_VARS, TransportSchema } from './transport/transport-config.ts';
import { WYOMING_ENV_VARS, WyomingSchema } from './wyoming/wyoming-config.ts';

const port = z.coerce.number().int().min(0).max(65535);
const positiveMs = z.coerce.number().int().positive();

/** Session limits (PROTOCOL.md §4); each default has a one-line reason. */
export const LimitsSchema = z.object({
  /** PROTOCOL §4: a turn longer than 30 s of audio is ended by the gateway. */
  maxTurnMs: positiveMs.default(30_000),
  /** PROTOCOL §4: audio faster than 2× real time is refused as `rate_limited`. */
  maxAudioRate: z.coerce.number().positive().default(2),
  /** Largest legal mic packet is 120 ms pcm16 (3,840 B) or a 60 ms Opus packet (≤ 3,828 B). */
  maxAudioFrameBytes: z.coerce.number().int().positive().default(4096),
  /** PROTOCOL §2: reply audio runs at most this far ahead of real time. */
  leadMs: z.coerce.number().int().min(0).default(400),
  /** PROTOCOL §1.3: after `listen stop` with `frames`, wait this long for frames still in flight. */
  stragglerWaitMs: z.coerce.number().int().min(0).default(300),
  /** A connection that authenticated but never says hello is closed after this (no buffering first). */
  helloTimeoutMs: positiveMs.default(10_000),
  /** Rate limiting tolerates this much burst (ms of audio) before judging the rate. */
  rateBurstMs: positiveMs.default(1_000),
});
export type Limits = z.infer<typeof LimitsSchema>;

/** Groq cloud: shared by its LLM and (speech side) its Whisper transcription. */
export const GroqSchema = z.object({
  apiKey: z.string().min(1).optional(),
  /** Unset: groq-sdk's default (https://api.groq.com). */
  baseUrl: z.string().url().optional(),
  /** Fast and cheap enough for spoken replies. */
  llmModel: z.string().min(1).default('llama-3.1-8b-instant'),
  /** Groq's fastest Whisper; plenty for short spoken turns. */
  whisperModel: z.string().min(1).default('whisper-large-v3-turbo'),
});

const splitList = (value: unknown) =>
  typeof value === 'string' ? value.split(',').map((s) => s.trim()).filter(Boolean) : value;

/** The language side (gateway/brain): providers, prompt, memory, timeouts. */
export const LlmSchema = z.object({
  /** Providers in fallback order (VOXGATE_LLM=groq|openai|groq,openai). */
  providers: z.preprocess(splitList, z.array(z.enum(['groq', 'openai'])).min(1)).default(['groq']),
  /** Any OpenAI-compatible server; the default is Ollama's on this machine. */
  openaiBaseUrl: z.string().url().default('http://127.0.0.1:11434/v1'),
  openaiModel: z.string().min(1).default('llama3.2'),
  openaiApiKey: z.string().min(1).optional(),
  /** Persona / extra instructions; the spoken-reply rules are always kept. */
  systemPrompt: z.string().optional(),
  /** Past turns sent as context (0 = no memory). */
  memoryTurns: z.coerce.number().int().min(0).max(100).default(10),
  /** Older turns are not context any more: a pause this long starts a fresh conversation. */
  memoryWindowMinutes: z.coerce.number().positive().default(60),
  /** A cloud LLM that sends nothing for this long is treated as down (the next provider may serve). */
  firstTokenTimeoutMs: positiveMs.default(8_000),
  /** A spoken reply that takes longer than this to write is cut off. */
  totalTimeoutMs: positiveMs.default(30_000),
  /** Retries of a retryable failure (429/5xx/connection), only before the first token. */
  maxRetries: z.coerce.number().int().min(0).max(5).default(1),
  /** Caps a runaway answer; spoken replies are 1–3 sentences. */
  maxTokens: z.coerce.number().int().positive().default(400),
  /** Tool-call rounds per reply before the answer must be text (a model looping on tools). */
  maxToolRounds: z.coerce.number().int().min(0).max(10).default(3),
});

const isTimeZone = (zone: string) => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
};

export const ConfigSchema = z.object({
  /** Where the SQLite database (and later models) live. */
  dataDir: z.string().min(1).default('./data'),
  /** Interface to bind; 0.0.0.0 so wearables on the LAN can reach it (they authenticate). */
  host: z.string().min(1).default('0.0.0.0'),
  httpPort: port.default(8080),
  mqttPort: port.default(1883),
  /** When set, connect to this broker instead of embedding one. */
  mqttUrl: z.string().url().optional(),
  mqttUsername: z.string().optional(),
  mqttPassword: z.string().optional(),
  mqttTopicPrefix: z.string().min(1).default(DEFAULT_TOPIC_PREFIX),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  limits: LimitsSchema.default(LimitsSchema.parse({})),
  groq: GroqSchema.default(GroqSchema.parse({})),
  llm: LlmSchema.default(LlmSchema.parse({})),
  /** Speech engines: STT/TTS providers, models, VAD (gateway/speech/speech-config.ts). */
  speech: SpeechSchema.default(SpeechSchema.parse({})),
  /** Transport limits and timeouts (gateway/transport/transport-config.ts). */
  transport: TransportSchema.default(TransportSchema.parse({})),
  /** HTTP API limits and /metrics access (gateway/http/http-config.ts). */
  http: HttpSchema.default(HttpSchema.parse({})),
  /** Home Assistant bridge (gateway/bridge/bridge-config.ts). */
  bridge: BridgeSchema.default(BridgeSchema.parse({})),
  /** Home Assistant's REST API, for bridge.mode ha_assist (gateway/bridge/bridge-config.ts). */
  homeAssistant: HomeAssistantApiSchema.default(HomeAssistantApiSchema.parse({})),
  /** The Wyoming server for Home Assistant's voice pipelines (gateway/wyoming/wyoming-config.ts). */
  wyoming: WyomingSchema.default(WyomingSchema.parse({})),
  /** IANA time zone of the gateway (date/time tool); default: the system's. */
  timeZone: z
    .string()
    .refine(isTimeZone, 'not a known IANA time zone')
    .default(Intl.DateTimeFormat().resolvedOptions().timeZone),
});
export type Config = z.infer<typeof ConfigSchema>;

/** Environment variable → config path. Flags use the same names in kebab case (see cli.ts). */
export const ENV_VARS: Record<string, string> = {
  VOXGATE_DATA_DIR: 'dataDir',
  VOXGATE_HOST: 'host',
  VOXGATE_HTTP_PORT: 'httpPort',
  VOXGATE_MQTT_PORT: 'mqttPort',
  VOXGATE_MQTT_URL: 'mqttUrl',
  VOXGATE_MQTT_USERNAME: 'mqttUsername',
  VOXGATE_MQTT_PASSWORD: 'mqttPassword',
  VOXGATE_MQTT_PREFIX: 'mqttTopicPrefix',
  VOXGATE_LOG_LEVEL: 'logLevel',
  VOXGATE_MAX_TURN_MS: 'limits.maxTurnMs',
  VOXGATE_LEAD_MS: 'limits.leadMs',
  GROQ_API_KEY: 'groq.apiKey',
  GROQ_BASE_URL: 'groq.baseUrl',
  VOXGATE_GROQ_LLM_MODEL: 'groq.llmModel',
  VOXGATE_LLM: 'llm.providers',
  VOXGATE_OPENAI_BASE_URL: 'llm.openaiBaseUrl',
  VOXGATE_OPENAI_MODEL: 'llm.openaiModel',
  VOXGATE_OPENAI_API_KEY: 'llm.openaiApiKey',
  VOXGATE_SYSTEM_PROMPT: 'llm.systemPrompt',
  VOXGATE_MEMORY_TURNS: 'llm.memoryTurns',
  VOXGATE_MEMORY_WINDOW_MINUTES: 'llm.memoryWindowMinutes',
  VOXGATE_LLM_FIRST_TOKEN_TIMEOUT_MS: 'llm.firstTokenTimeoutMs',
  VOXGATE_LLM_TOTAL_TIMEOUT_MS: 'llm.totalTimeoutMs',
  VOXGATE_TIME_ZONE: 'timeZone',
  ...SPEECH_ENV_VARS,
  ...TRANSPORT_ENV_VARS,
  ...HTTP_ENV_VARS,
  ...BRIDGE_ENV_VARS,
  ...HOME_ASSISTANT_ENV_VARS,
  ...WYOMING_ENV_VARS,
};

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Plain = Record<string, unknown>;

function setPath(target: Plain, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    node[key] = typeof node[key] === 'object' && node[key] !== null ? node[key] : {};
    node = node[key] as Plain;
  }
  node[keys[keys.length - 1]!] = value;
}

function deepMerge(base: Plain, over: Plain): Plain {
  const out: Plain = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (value === undefined) continue;
    const prev = out[key];
    out[key] =
      typeof value === 'object' && value !== null && !Array.isArray(value) && typeof prev === 'object' && prev !== null
        ? deepMerge(prev as Plain, value as Plain)
        : value;
  }
  return out;
}

export interface ConfigSources {
  env?: Record<string, string | undefined>;
  /** Already keyed by config path (dotted paths allowed), e.g. from command-line flags. */
  overrides?: Record<string, unknown>;
  /** Path of a JSON config file; defaults to env VOXGATE_CONFIG. */
  file?: string;
}

export function loadConfig(sources: ConfigSources = {}): Config {
  const env = sources.env ?? {};
  let merged: Plain = {};
  const file = sources.file ?? env.VOXGATE_CONFIG;
  if (file) {
    try {
      merged = deepMerge(merged, JSON.parse(readFileSync(file, 'utf8')) as Plain);
    } catch (err) {
      throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
    }
  }
  const fromEnv: Plain = {};
  for (const [name, dotted] of Object.entries(ENV_VARS)) {
    const value = env[name];
    if (value !== undefined && value !== '') setPath(fromEnv, dotted, value);
  }
  merged = deepMerge(merged, fromEnv);
  const fromFlags: Plain = {};
  for (const [dotted, value] of Object.entries(sources.overrides ?? {})) {
    if (value !== undefined) setPath(fromFlags, dotted, value);
  }
  merged = deepMerge(merged, fromFlags);
  const result = ConfigSchema.safeParse(merged);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid configuration: ${issues}`);
  }
  return { ...result.data, dataDir: path.resolve(result.data.dataDir) };
}
