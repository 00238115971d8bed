/**
 * One user utterance → the sentences of a spoken reply. Memory and the spoken-reply
 * prompt make the request; the LLM streams; tool calls are executed and fed back (a
 * bounded number of rounds); text is split into sentences and sanitized, and each
 * sentence is yielded the moment it is complete, so TTS starts while the model writes.
 * A speculative request (ReplyRequest.beforeSideEffect) runs read-only tools only; a tool
 * with side effects waits for the commit.
 */
import { ProviderError } from '../providers.ts';
import type { Logger } from '../logger.ts';
import type { ConversationMemory } from './memory.ts';
import { buildMessages, buildSystemPrompt } from './prompt.ts';
import { SpeechSanitizer } from './sanitize.ts';
import { SentenceSplitter, type SentenceSplitterOptions } from './sentence-splitter.ts';
import { combineTools } from './tool-source.ts';
import type { ToolRegistry } from './tools.ts';
import type { ChatMessage, LlmProvider, LlmRequest, LlmStreamEvent, ReplyRequest, Responder } from './types.ts';

/** Tool rounds per reply; after them the model must answer in words (a model looping on tools). */
export const DEFAULT_MAX_TOOL_ROUNDS = 3;

export interface ConversationResponderOptions {
  llm: LlmProvider;
  memory: ConversationMemory;
  tools?: ToolRegistry;
  /** Persona / system prompt (config `llm.systemPrompt`). */
  persona?: string;
  maxToolRounds?: number;
  splitter?: SentenceSplitterOptions;
  logger?: Pick<Logger, 'debug' | 'warn'>;
}

async function* asTextEvents(deltas: AsyncIterable<string>): AsyncGenerator<LlmStreamEvent> {
  for await (const text of deltas) yield { type: 'text', text };
}

/** The sanitized, non-empty sentences; stops at once when the turn was aborted (one token may hold several). */
function* speakable(sentences: string[], sanitizer: SpeechSanitizer, signal: AbortSignal): Generator<string> {
  for (const sentence of sentences) {
    if (signal.aborted) throw new ProviderError('reply aborted', false, 'aborted');
    const spoken = sanitizer.accept(sentence);
    if (spoken) yield spoken;
  }
}

export class ConversationResponder implements Responder {
  private readonly maxToolRounds: number;

  constructor(private readonly options: ConversationResponderOptions) {
    this.maxToolRounds = options.maxToolRounds ?? DEFAULT_MAX_TOOL_ROUNDS;
  }

  async *reply(request: ReplyRequest): AsyncGenerator<string> {
    const { llm, memory, tools, logger } = this.options;
    const systemPrompt = buildSystemPrompt({ persona: this.options.persona, language: request.language });
    const messages = buildMessages(systemPrompt, memory.recent(request.deviceId), request.text);
    // The gateway's tools and, for this turn, the device's own (request.tools).
    const toolbox = llm.streamEvents !== undefined ? combineTools([tools, request.tools]) : undefined;
    const canUseTools = toolbox !== undefined;
    let firstToken = false;
    let sentences = 0;

    for (let round = 0; ; round++) {
      if (request.signal.aborted) throw new ProviderError('reply aborted', false, 'aborted');
      const llmRequest: LlmRequest = { messages, signal: request.signal };
      if (canUseTools) {
        llmRequest.tools = toolbox.definitions;
        // The last round lists the tools (the history mentions them) but forbids calling them.
        if (round >= this.maxToolRounds) llmRequest.toolChoice = 'none';
      }
      const events = llm.streamEvents ? llm.streamEvents(llmRequest) : asTextEvents(llm.stream(llmRequest));
      // Per round: a tool round's own words ("Let me check.") are complete before its tool runs.
      const splitter = new SentenceSplitter(this.options.splitter);
      const sanitizer = new SpeechSanitizer();
      let roundText = '';
      let calls: Extract<LlmStreamEvent, { type: 'tool_calls' }>['calls'] = [];

      for await (const event of events) {
        if (!firstToken) {
          firstToken = true;
          request.onFirstToken?.();
        }
        if (event.type === 'tool_calls') {
          calls = event.calls;
          continue;
        }
        roundText += event.text;
        for (const spoken of speakable(splitter.push(event.text), sanitizer, request.signal)) {
          sentences++;
          yield spoken;
        }
      }
      for (const spoken of speakable(splitter.flush(), sanitizer, request.signal)) {
        sentences++;
        yield spoken;
      }

      if (calls.length === 0 || !canUseTools || round >= this.maxToolRounds) break;
      logger?.debug({ round, tools: calls.map((c) => c.name) }, 'LLM called tools');
      messages.push({
        role: 'assistant',
        content: roundText,
        tool_calls: calls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } })),
      });
      for (const call of calls) {
        // A speculative reply stops here until it is committed (or is discarded: this throws).
        if (request.beforeSideEffect && toolbox!.hasSideEffects(call.name)) await request.beforeSideEffect();
        const result = await toolbox!.run(call, { deviceId: request.deviceId, signal: request.signal });
        messages.push({ role: 'tool', tool_call_id: call.id, name: call.name, content: result } satisfies ChatMessage);
      }
    }

    if (request.signal.aborted) throw new ProviderError('reply aborted', false, 'aborted');
    // Nothing to say (no text, or only emoji/markup): the session reports llm_unavailable.
    if (sentences === 0) throw new ProviderError('empty answer', false);
  }

  resetConversation(deviceId: string): void {
    this.options.memory.reset(deviceId);
  }
}
