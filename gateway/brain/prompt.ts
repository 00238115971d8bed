/**
 * The system prompt for spoken replies. Everything the model writes is read aloud by a
 * small wearable, so the rules ask for what sounds right: a few plain sentences, no
 * markup. The persona is configurable (config `llm.systemPrompt`); the spoken-reply
 * rules are always kept, because TTS cannot read a table.
 */
import type { ChatMessage } from './types.ts';

export const DEFAULT_PERSONA =
  'You are Vox, a friendly and helpful voice assistant. People talk to you through a small wearable ' +
  'with a push-to-talk button and hear your answers through its speaker.';

export const SPOKEN_REPLY_RULES = [
  'Your reply is converted to speech, so write it for the ear:',
  '- Answer in plain, complete sentences: usually one to three sentences, about 15 to 60 words. Give more only when the user asks for detail, a list, a story or step-by-step instructions.',
  '- Never use markdown, bullet points, numbered lists, headings, tables, code, emoji or emoticons. Say a list as a sentence ("you need flour, eggs and milk").',
  '- Do not read out URLs, file paths or long numbers digit by digit; name the website or round the number instead.',
  '- Spell out symbols that would sound odd (say "degrees", "percent", "dollars").',
  '- Get to the point: no preamble such as "Great question", and do not repeat the question back.',
  '- If you did not understand the user (speech recognition can mishear), say so briefly and ask them to repeat.',
  '- When a tool can answer (such as the current date or time), use it rather than guessing.',
].join('\n');

/** "de" → "German"; unknown codes are passed through as they are. */
export function languageName(code: string): string {
  try {
    return new Intl.DisplayNames(['en'], { type: 'language' }).of(code) ?? code;
  } catch {
    return code;
  }
}

export interface SystemPromptOptions {
  /** Replaces the default persona (config `llm.systemPrompt`). */
  persona?: string;
  /** The device's language (BCP 47, e.g. "en", "de-AT"); unknown: the user's own. */
  language?: string;
}

export function buildSystemPrompt(options: SystemPromptOptions = {}): string {
  const persona = options.persona?.trim() || DEFAULT_PERSONA;
  const language = options.language?.trim()
    ? `Always answer in ${languageName(options.language.trim())} (${options.language.trim()}), the language this device is set to.`
    : 'Answer in the language the user speaks.';
  return `${persona}\n\n${SPOKEN_REPLY_RULES}\n- ${language}`;
}

/** System prompt, then the remembered conversation, then what the user just said. */
export function buildMessages(systemPrompt: string, history: ChatMessage[], userText: string): ChatMessage[] {
  return [{ role: 'system', content: systemPrompt }, ...history, { role: 'user', content: userText }];
}
