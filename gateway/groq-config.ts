/**
 * The `groq` section of the gateway config: one Groq account serves two rooms, the LLM
 * (gateway/brain) and Whisper transcription (gateway/speech), so it lives beside them
 * rather than in either. Pure (zod only): config.ts composes it; brain and speech get the
 * parsed section.
 */
import { z } from 'zod';

export const GroqSchema = z.object({
  apiKey: z.string().min(1).optional(),
  /** Unset: groq-sdk's default (https://api.groq.com). */
  baseUrl: z.string().url().optional(),
  /** Fast and cheap enough for spoken replies. */
  llmModel: z.string().min(1).default('llama-3.1-8b-instant'),
  /** Groq's fastest Whisper; plenty for short spoken turns. */
  whisperModel: z.string().min(1).default('whisper-large-v3-turbo'),
});
export type GroqConfig = z.infer<typeof GroqSchema>;

/** Environment variable → config path for the groq section (merged into config.ts's ENV_VARS). */
export const GROQ_ENV_VARS: Record<string, string> = {
  GROQ_API_KEY: 'groq.apiKey',
  GROQ_BASE_URL: 'groq.baseUrl',
  VOXGATE_GROQ_LLM_MODEL: 'groq.llmModel',
  VOXGATE_GROQ_WHISPER_MODEL: 'groq.whisperModel',
};
