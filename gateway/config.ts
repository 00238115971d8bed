/**
 * The gateway's one typed configuration object. Sources, later ones winning:
 * defaults < JSON file (VOXGATE_CONFIG / --config) < environment < command-line flags.
 * No other module reads process.env: they receive the parts of this object they need.
 *
 * Each room owns its section (schema, defaults, environment variables) next to its code;
 * this file only composes them with the top-level keys and reads the sources. Rooms never
 * import it: app.ts and the CLI hand each one its sections.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { DEFAULT_TOPIC_PREFIX } from '../protocol/index.ts';
import { AUDIO_ENV_VARS, AudioSchema } from './audio/audio-config.ts';
import { LLM_ENV_VARS, LlmSchema } from './brain/llm-config.ts';
import { BRIDGE_ENV_VARS, BridgeSchema, HOME_ASSISTANT_ENV_VARS, HomeAssistantApiSchema } from './bridge/bridge-config.ts';
import { GROQ_ENV_VARS, GroqSchema } from './groq-config.ts';
import { HTTP_ENV_VARS, HttpSchema } from './http/http-config.ts';
import { LIMITS_ENV_VARS, LimitsSchema } from './session/limits-config.ts';
import { PREEMPTION_ENV_VARS, PreemptionSchema } from './session/preemption-config.ts';
import { SPEECH_ENV_VARS, SpeechSchema } from './speech/speech-config.ts';
import { STORE_ENV_VARS, StoreSchema } from './store/store-config.ts';
import { TRANSPORT_ENV_VARS, TransportSchema } from './transport/transport-config.ts';
import { WYOMING_ENV_VARS, WyomingSchema } from './wyoming/wyoming-config.ts';
import { XIAOZHI_ENV_VARS, XiaozhiSchema } from './xiaozhi/xiaozhi-config.ts';

const port = z.coerce.number().int().min(0).max(65535);

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
  /** Session limits (gateway/session/limits-config.ts). */
  limits: LimitsSchema.default(LimitsSchema.parse({})),
  /** Preemptive generation: the reply starts before the button is released (gateway/session/preemption-config.ts). */
  preemption: PreemptionSchema.default(PreemptionSchema.parse({})),
  /** The Groq account, shared by the LLM and Whisper (gateway/groq-config.ts). */
  groq: GroqSchema.default(GroqSchema.parse({})),
  /** Language providers, prompt, memory, timeouts (gateway/brain/llm-config.ts). */
  llm: LlmSchema.default(LlmSchema.parse({})),
  /** Speech engines: STT/TTS providers, models, VAD (gateway/speech/speech-config.ts). */
  speech: SpeechSchema.default(SpeechSchema.parse({})),
  /** Codec workers: reply encoding, upload decoding (gateway/audio/audio-config.ts). */
  audio: AudioSchema.default(AudioSchema.parse({})),
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
  /** The database: turn retention (gateway/store/store-config.ts). */
  store: StoreSchema.default(StoreSchema.parse({})),
  /** Stock xiaozhi-esp32 firmware: OTA bootstrap, pairing, its WebSocket (gateway/xiaozhi/xiaozhi-config.ts). */
  xiaozhi: XiaozhiSchema.default(XiaozhiSchema.parse({})),
  /** IANA time zone of the gateway (date/time tool); default: the system's. */
  timeZone: z
    .string()
    .refine(isTimeZone, 'not a known IANA time zone')
    .default(Intl.DateTimeFormat().resolvedOptions().timeZone),
});
export type Config = z.infer<typeof ConfigSchema>;

/** Environment variable → config path: the top-level keys', then each section's own map. The CLI's global flags name theirs in --help. */
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
  VOXGATE_TIME_ZONE: 'timeZone',
  ...LIMITS_ENV_VARS,
  ...PREEMPTION_ENV_VARS,
  ...GROQ_ENV_VARS,
  ...LLM_ENV_VARS,
  ...SPEECH_ENV_VARS,
  ...AUDIO_ENV_VARS,
  ...TRANSPORT_ENV_VARS,
  ...HTTP_ENV_VARS,
  ...BRIDGE_ENV_VARS,
  ...HOME_ASSISTANT_ENV_VARS,
  ...WYOMING_ENV_VARS,
  ...STORE_ENV_VARS,
  ...XIAOZHI_ENV_VARS,
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
