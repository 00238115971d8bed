/**
 * The language side, built from its config sections: LLM provider(s) with fallback, memory
 * over the store, the tool registry, and the Responder the session talks to.
 */
import type { GroqConfig } from '../groq-config.ts';
import type { Logger } from '../logger.ts';
import { ConversationResponder } from './conversation-responder.ts';
import { FallbackLlm } from './fallback-llm.ts';
import { GroqLlm } from './groq-llm.ts';
import type { LlmCallPolicy } from './llm-call-policy.ts';
import { StoreConversationMemory, type ConversationStore } from './memory.ts';
import { OpenAiCompatibleLlm } from './openai-compatible-llm.ts';
import { ToolRegistry } from './tools.ts';
import { createDateTimeTool } from './tools/datetime.ts';
import type { LlmConfig } from './llm-config.ts';
import type { LlmProvider, Responder } from './types.ts';

export type { ChatMessage, LlmProvider, LlmRequest, LlmStreamEvent, LlmToolCall, LlmToolDefinition, ReplyRequest, Responder } from './types.ts';
export { ConversationResponder, DEFAULT_MAX_TOOL_ROUNDS, type ConversationResponderOptions } from './conversation-responder.ts';
export { FallbackLlm } from './fallback-llm.ts';
export { GroqLlm, DEFAULT_GROQ_LLM_MODEL, type GroqLlmOptions } from './groq-llm.ts';
export { OpenAiCompatibleLlm, type OpenAiCompatibleLlmOptions } from './openai-compatible-llm.ts';
export {
  DEFAULT_FIRST_TOKEN_TIMEOUT_MS,
  DEFAULT_TOTAL_TIMEOUT_MS,
  DEFAULT_MAX_RETRIES,
  type LlmCallPolicy,
} from './llm-call-policy.ts';
export { StoreConversationMemory, type ConversationMemory, type ConversationStore } from './memory.ts';
export { buildSystemPrompt, DEFAULT_PERSONA } from './prompt.ts';
export { sanitizeForSpeech, SpeechSanitizer } from './sanitize.ts';
export { SentenceSplitter, splitSentences } from './sentence-splitter.ts';
export { ToolRegistry, type Tool, type ToolContext } from './tools.ts';
export { createDateTimeTool, DATETIME_TOOL_NAME } from './tools/datetime.ts';
export { LLM_ENV_VARS, LlmSchema, type LlmConfig } from './llm-config.ts';

/** The config sections the language side reads (the gateway's Config has them all). */
export interface BrainConfig {
  llm: LlmConfig;
  /** For the `groq` provider. */
  groq: GroqConfig;
  /** IANA zone of the date/time tool. */
  timeZone: string;
}

function callPolicy(config: Pick<BrainConfig, 'llm'>): LlmCallPolicy {
  return {
    firstTokenTimeoutMs: config.llm.firstTokenTimeoutMs,
    totalTimeoutMs: config.llm.totalTimeoutMs,
    maxRetries: config.llm.maxRetries,
  };
}

/** The configured provider, or a FallbackLlm over several (config `llm.providers`, VOXGATE_LLM). */
export function createLlmProvider(config: Pick<BrainConfig, 'llm' | 'groq'>, logger?: Pick<Logger, 'warn'>): LlmProvider {
  const policy = callPolicy(config);
  const providers = config.llm.providers.map((name): LlmProvider => {
    if (name === 'groq') {
      return new GroqLlm({
        apiKey: config.groq.apiKey,
        baseUrl: config.groq.baseUrl,
        model: config.groq.llmModel,
        maxTokens: config.llm.maxTokens,
        policy,
      });
    }
    return new OpenAiCompatibleLlm({
      baseUrl: config.llm.openaiBaseUrl,
      model: config.llm.openaiModel,
      apiKey: config.llm.openaiApiKey,
      maxTokens: config.llm.maxTokens,
      policy,
    });
  });
  return providers.length === 1 ? providers[0]! : new FallbackLlm(providers, logger);
}

/** The tools every gateway has; other modules (home automation) register more on the result. */
export function createDefaultTools(config: Pick<BrainConfig, 'timeZone'>): ToolRegistry {
  return new ToolRegistry([createDateTimeTool({ timeZone: config.timeZone })]);
}

export interface ResponderDependencies {
  /** gateway/store's Store (or anything with the two conversation functions). */
  store: ConversationStore;
  logger: Logger;
  /** Defaults to createLlmProvider(config). */
  llm?: LlmProvider;
  /** Defaults to createDefaultTools(config). */
  tools?: ToolRegistry;
}

export function createResponder(config: BrainConfig, deps: ResponderDependencies): Responder {
  const logger = deps.logger.child({ module: 'brain' });
  return new ConversationResponder({
    llm: deps.llm ?? createLlmProvider(config, logger),
    memory: new StoreConversationMemory(deps.store, {
      turns: config.llm.memoryTurns,
      windowMinutes: config.llm.memoryWindowMinutes,
    }),
    tools: deps.tools ?? createDefaultTools(config),
    persona: config.llm.systemPrompt,
    maxToolRounds: config.llm.maxToolRounds,
    logger,
  });
}
