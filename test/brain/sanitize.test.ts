import { describe, expect, it } from 'vitest';
import { sanitizeForSpeech, SpeechSanitizer } from '../../gateway/brain/sanitize.ts';

const CASES: Array<[string, string, string]> = [
  ['plain text stays', 'It is sunny today.', 'It is sunny today.'],
  ['bold and italics', 'This is **very** important and *quite* _subtle_.', 'This is very important and quite subtle.'],
  ['strikethrough and inline code', 'Run `npm test` not ~~make~~.', 'Run npm test not make.'],
  ['headers', '## Weather today', 'Weather today'],
  ['bullets', '- Buy milk', 'Buy milk'],
  ['star bullets', '* Buy eggs.', 'Buy eggs.'],
  ['numbered items', '2. Bake for ten minutes.', 'Bake for ten minutes.'],
  ['block quotes', '> To be or not to be.', 'To be or not to be.'],
  ['links become their text', 'See [the manual](https://example.com/manual) for help.', 'See the manual for help.'],
  ['images become their alt text', '![a cat](cat.png) sleeps.', 'a cat sleeps.'],
  ['bare URLs are read as the site', 'Go to https://www.example.com/docs/page?x=1.', 'Go to example.com.'],
  ['www URLs', 'Visit www.wikipedia.org for more.', 'Visit wikipedia.org for more.'],
  ['e-mail addresses', 'Write to jane.doe@example.com today.', 'Write to jane.doe at example.com today.'],
  ['emoji', 'Great job! 🎉👍🏽 Keep going ❤️.', 'Great job! Keep going.'],
  ['flags and ZWJ sequences', 'Hello 🇫🇷 family 👨‍👩‍👧!', 'Hello family!'],
  ['html tags', 'Line one<br>line two.', 'Line one line two.'],
  ['snake_case', 'Set max_tokens higher.', 'Set max tokens higher.'],
  ['times between numbers', 'That is 6 * 7.', 'That is 6 times 7.'],
  ['table rows', '| Paris | 2.1 million |', 'Paris, 2.1 million'],
  ['table separators', '|---|:---:|', ''],
  ['horizontal rules', '---', ''],
  ['nothing speakable', '🙂 ** #', ''],
  ['decimals and prices survive', 'It costs $2.50, about 3.14 times more.', 'It costs $2.50, about 3.14 times more.'],
  ['non-latin text survives', 'Привет, как дела?', 'Привет, как дела?'],
];

describe('sanitizeForSpeech', () => {
  for (const [name, input, expected] of CASES) {
    it(name, () => expect(sanitizeForSpeech(input)).toBe(expected));
  }
});

describe('SpeechSanitizer', () => {
  it('drops code blocks across segments and keeps the text around them', () => {
    const sanitizer = new SpeechSanitizer();
    const segments = ['Here is the code:', '```python', 'print("hi. there")', 'x = 1', '```', 'That prints hi.'];
    expect(segments.map((s) => sanitizer.accept(s))).toEqual(['Here is the code:', '', '', '', '', 'That prints hi.']);
  });

  it('drops a code block that opens and closes inside one segment', () => {
    const sanitizer = new SpeechSanitizer();
    expect(sanitizer.accept('Use ```ls -la``` to list files.')).toBe('Use to list files.');
    expect(sanitizer.accept('Done.')).toBe('Done.');
  });
});
