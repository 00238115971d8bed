import { describe, expect, it } from 'vitest';
import {
  FIRST_SENTENCE_COMMA_CUT_CHARS,
  MAX_SENTENCE_CHARS,
  SentenceSplitter,
  splitSentences,
} from '../../gateway/brain/sentence-splitter.ts';

const NO_COMMA_CUT = { firstSentenceCommaCutChars: Number.POSITIVE_INFINITY };

/** Feeds `text` in pieces of `size` characters, collecting every sentence. */
function streamed(text: string, size: number, options = NO_COMMA_CUT): string[] {
  const splitter = new SentenceSplitter(options);
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(...splitter.push(text.slice(i, i + size)));
  return [...out, ...splitter.flush()];
}

const CASES: Array<[string, string, string[]]> = [
  ['plain sentences', 'Hello there. How are you? I am fine!', ['Hello there.', 'How are you?', 'I am fine!']],
  ['titles', 'Mr. Smith met Dr. Jones today. They talked.', ['Mr. Smith met Dr. Jones today.', 'They talked.']],
  ['e.g. and i.e.', 'Eat fruit, e.g. Apples or pears, i.e. something fresh. Then rest.', ['Eat fruit, e.g. Apples or pears, i.e. something fresh.', 'Then rest.']],
  ['etc. mid-sentence', 'Bring pens, paper, etc. for the class. Thanks.', ['Bring pens, paper, etc. for the class.', 'Thanks.']],
  ['etc. ending a sentence', 'Bring pens, paper, etc. The rest is here.', ['Bring pens, paper, etc.', 'The rest is here.']],
  ['U.S. mid-sentence', 'The U.S. economy grew. It was fast.', ['The U.S. economy grew.', 'It was fast.']],
  ['U.S. ending a sentence', 'She moved to the U.S. Then she worked.', ['She moved to the U.S.', 'Then she worked.']],
  ['a.m. and p.m.', 'Open from 9 a.m. to 5 p.m. on weekdays. Closed Sundays.', ['Open from 9 a.m. to 5 p.m. on weekdays.', 'Closed Sundays.']],
  ['decimals', 'Pi is about 3.14. That is close enough.', ['Pi is about 3.14.', 'That is close enough.']],
  ['prices', 'It costs $2.50 today. Tomorrow it is $3.', ['It costs $2.50 today.', 'Tomorrow it is $3.']],
  ['thousands', 'About 1,000 people came. Then 2,500.5 more.', ['About 1,000 people came.', 'Then 2,500.5 more.']],
  ['a year ends a sentence', 'I was born in 1990. Then I grew.', ['I was born in 1990.', 'Then I grew.']],
  ['URL', 'Visit https://example.com/docs/v1.2/index.html?x=1 for more. Bye.', ['Visit https://example.com/docs/v1.2/index.html?x=1 for more.', 'Bye.']],
  ['URL at the end of a sentence', 'See example.org. It helps.', ['See example.org.', 'It helps.']],
  ['e-mail', 'Write to jane.doe@mail.example.com today. Thanks!', ['Write to jane.doe@mail.example.com today.', 'Thanks!']],
  ['initials', 'J. R. R. Tolkien wrote it. Read it.', ['J. R. R. Tolkien wrote it.', 'Read it.']],
  ['No. before a number', 'Take bus No. 5 home. No. I mean six.', ['Take bus No. 5 home.', 'No.', 'I mean six.']],
  ['quotes after the stop', 'He said "Go home." Then he left.', ['He said "Go home."', 'Then he left.']],
  ['brackets after the stop', 'It works (mostly.) Try it.', ['It works (mostly.)', 'Try it.']],
  ['?! runs', 'Really?! Yes. Wow...', ['Really?!', 'Yes.', 'Wow...']],
  ['ellipsis as a pause', 'Well... maybe later. Sure… Fine.', ['Well... maybe later.', 'Sure…', 'Fine.']],
  ['line breaks', 'Here you go:\n- Milk\n- Eggs\nEnjoy.', ['Here you go:', '- Milk', '- Eggs', 'Enjoy.']],
  ['numbered list items', 'Steps:\n1. Preheat the oven.\n2. Bake it.', ['Steps:', '1. Preheat the oven.', '2. Bake it.']],
  ['version numbers', 'Use version 2.0.1 now. It is stable.', ['Use version 2.0.1 now.', 'It is stable.']],
  ['CJK full stops', '今天天气很好。我们去公园吧！', ['今天天气很好。', '我们去公园吧！']],
  ['German abbreviation', 'Obst, z.B. Äpfel, ist gesund. Iss es.', ['Obst, z.B. Äpfel, ist gesund.', 'Iss es.']],
  ['no terminal punctuation', 'just some words', ['just some words']],
  ['blank input', '   ', []],
];

describe('SentenceSplitter', () => {
  for (const [name, text, expected] of CASES) {
    it(`${name}: whole text`, () => {
      expect(splitSentences(text, NO_COMMA_CUT)).toEqual(expected);
    });
    it(`${name}: streamed one character at a time and in 3-char tokens`, () => {
      expect(streamed(text, 1)).toEqual(expected);
      expect(streamed(text, 3)).toEqual(expected);
    });
  }

  it('emits a sentence as soon as the next word shows it is complete, before flush', () => {
    const splitter = new SentenceSplitter();
    expect(splitter.push('Hello there')).toEqual([]);
    expect(splitter.push('.')).toEqual([]); // could still be "there.com"
    expect(splitter.push(' How')).toEqual(['Hello there.']);
    expect(splitter.push(' are you?')).toEqual([]);
    expect(splitter.flush()).toEqual(['How are you?']);
  });

  it('waits for the next word after an abbreviation that may end a sentence', () => {
    const splitter = new SentenceSplitter();
    expect(splitter.push('Moved to the U.S. ')).toEqual([]);
    expect(splitter.push('Then')).toEqual(['Moved to the U.S.']);
  });

  it('cuts a long first sentence at its last comma so audio starts sooner', () => {
    const splitter = new SentenceSplitter();
    const long = 'Paris is the capital of France, and with more than two million people it is ';
    expect(long.length).toBeGreaterThan(FIRST_SENTENCE_COMMA_CUT_CHARS);
    const out: string[] = [];
    for (const token of long.match(/\S+\s*/g)!) out.push(...splitter.push(token));
    expect(out).toEqual(['Paris is the capital of France,']);
    // Later sentences are not cut at commas.
    expect(splitter.push('the largest city, by far, in the whole country, which many people ')).toEqual([]);
    expect(splitter.push('visit every year. Yes.')).toEqual([
      'and with more than two million people it is the largest city, by far, in the whole country, which many people visit every year.',
    ]);
    expect(splitter.flush()).toEqual(['Yes.']);
  });

  it('does not cut the first sentence at a comma that leaves too short a piece, or inside 1,000', () => {
    const splitter = new SentenceSplitter();
    const out = splitter.push('Well, the population of the city is about 1,000,000 people living in the ');
    expect(out).toEqual([]);
  });

  it('does not cut a short first sentence at a comma', () => {
    expect(splitSentences('Yes, it is sunny. Enjoy.')).toEqual(['Yes, it is sunny.', 'Enjoy.']);
  });

  it('cuts a run that never ends a sentence at the maximum length', () => {
    const splitter = new SentenceSplitter({ ...NO_COMMA_CUT });
    const words = Array.from({ length: 80 }, (_, i) => `word${i}`).join(' ');
    const out = splitter.push(words + ' ');
    expect(out.length).toBe(1);
    expect(out[0]!.length).toBeLessThanOrEqual(MAX_SENTENCE_CHARS);
    expect(out[0]!.length).toBeGreaterThan(MAX_SENTENCE_CHARS - 12);
    const rest = splitter.flush();
    expect([...out, ...rest].join(' ')).toBe(words);
  });
});
