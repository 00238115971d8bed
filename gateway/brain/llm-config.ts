/**
 * The `llm` section of the gateway config: which language providers answer, in fallback
 * order, and the prompt, memory and timeouts around them. The Groq account they may use is
 * its own section (gateway/groq-config.ts). Pure (zod only): config.ts composes it.
 */
import { z } from 'zod';

const positiveMs = z.coerce.number().int().positive();
const splitList = (value: unknown) =>
  typeof value === 'string' ? value.split(',').map((s) => s.trim()).filter(Boolean) : value;

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
export type LlmConfig = z.infer<typeof LlmSchema>;

/** Environment variable → config path for the llm section (merged into config.ts's ENV_VARS). */
export const LLM_ENV_VARS: Record<string, string> = {
  VOXGATE_LLM: 'llm.providers',
  VOXGATE_OPENAI_BASE_URL: 'llm.openaiBaseUrl',
  VOXGATE_OPENAI_MODEL: 'llm.openaiModel',
  VOXGATE_OPENAI_API_KEY: 'llm.openaiApiKey',
  VOXGATE_SYSTEM_PROMPT: 'llm.systemPrompt',
  VOXGATE_MEMORY_TURNS: 'llm.memoryTurns',
  VOXGATE_MEMORY_WINDOW_MINUTES: 'llm.memoryWindowMinutes',
  VOXGATE_LLM_FIRST_TOKEN_TIMEOUT_MS: 'llm.firstTokenTimeoutMs',
  VOXGATE_LLM_TOTAL_TIMEOUT_MS: 'llm.totalTimeoutMs',
};
