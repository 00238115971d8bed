import { describe, expect, it } from 'vitest';
import { buildMessages, buildSystemPrompt, DEFAULT_PERSONA, languageName, SPOKEN_REPLY_RULES } from '../../gateway/brain/prompt.ts';

describe('spoken-reply prompt', () => {
  it('asks for short plain spoken sentences with no markup', () => {
    const prompt = buildSystemPrompt();
    expect(prompt).toContain(DEFAULT_PERSONA);
    expect(prompt).toMatch(/one to three sentences/);
    expect(prompt).toMatch(/15 to 60 words/);
    expect(prompt).toMatch(/unless|only when the user asks/i);
    for (const banned of ['markdown', 'bullet points', 'numbered lists', 'code', 'emoji']) expect(prompt).toContain(banned);
    expect(prompt).toContain('Answer in the language the user speaks.');
  });

  it('answers in the device language', () => {
    expect(buildSystemPrompt({ language: 'de' })).toContain('Always answer in German (de)');
    expect(buildSystemPrompt({ language: 'fr-CA' })).toContain('Always answer in Canadian French (fr-CA)');
    expect(languageName('not a code!')).toBe('not a code!');
  });

  it('a configured persona replaces the default one but keeps the spoken-reply rules', () => {
    const prompt = buildSystemPrompt({ persona: 'You are Captain Hook, a grumpy pirate.' });
    expect(prompt.startsWith('You are Captain Hook, a grumpy pirate.')).toBe(true);
    expect(prompt).not.toContain(DEFAULT_PERSONA);
    expect(prompt).toContain(SPOKEN_REPLY_RULES);
    expect(buildSystemPrompt({ persona: '   ' })).toContain(DEFAULT_PERSONA);
  });

  it('puts system prompt, history and the new question in order', () => {
    const history = [
      { role: 'user' as const, content: 'Hi' },
      { role: 'assistant' as const, content: 'Hello!' },
    ];
    expect(buildMessages('SYS', history, 'How are you?')).toEqual([
      { role: 'system', content: 'SYS' },
      ...history,
      { role: 'user', content: 'How are you?' },
    ]);
  });
});
