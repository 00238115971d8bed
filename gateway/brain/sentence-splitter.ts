/**
 * Turns a stream of LLM tokens into sentences as soon as each is complete, so each can
 * go to TTS while the model is still writing. Push tokens, get finished sentences;
 * flush at the end for the rest.
 *
 * When in doubt it does not split: two sentences spoken as one sound fine, a sentence
 * cut after "Dr." or inside "3.14" does not. Abbreviations, initials, decimals, prices,
 * thousands separators, URLs and e-mail addresses stay whole. Line breaks end a
 * segment (markdown lists, headers and code fences are line based). The first sentence
 * may be cut at a comma when it runs long, so the first audio starts sooner.
 */

/** The first sentence, still unfinished at this length, is cut at its last comma. */
export const FIRST_SENTENCE_COMMA_CUT_CHARS = 60;
/** A comma cut leaves a first piece at least this long (not just "Well,"). */
export const MIN_COMMA_CUT_CHARS = 20;
/** A run with no sentence end this long is cut anyway (at a comma or space), so TTS is never starved. */
export const MAX_SENTENCE_CHARS = 250;

export interface SentenceSplitterOptions {
  firstSentenceCommaCutChars?: number;
  minCommaCutChars?: number;
  maxSentenceChars?: number;
}

/** Never end a sentence: always followed by more of the same sentence. */
const NEVER_FINAL = new Set([
  'mr', 'mrs', 'ms', 'dr', 'prof', 'st', 'mt', 'gen', 'capt', 'rev', 'hon', 'sgt', 'lt', 'col', 'gov', 'sen', 'rep',
  'e.g', 'i.e', 'cf', 'vs', 'approx', 'fig', 'dept', 'est', 'ca', 'vol', 'ch', 'pp',
  // a few other languages a device may speak
  'z.b', 'd.h', 'bzw', 'vgl', 'sr', 'sra', 'dra', 'srta', 'mme', 'mlle',
]);
/** May end a sentence: one ends here only if the next word starts with a capital. */
const MAYBE_FINAL = new Set(['etc', 'inc', 'ltd', 'co', 'corp', 'jr', 'ph.d', 'usw', 'a.m', 'p.m']);
/** "No. 5" is an abbreviation, "No. I can't." is a sentence. */
const BEFORE_NUMBER = new Set(['no', 'nr', 'nos']);

const TERMINALS = '.!?…';
/** CJK full stops end a sentence with no space after them. */
const CJK_TERMINALS = '。！？';
const CLOSERS = '"\'”’)]}»';
const OPENERS = '(["\'“‘«¿¡';

const isSpace = (c: string | undefined) => c !== undefined && /\s/.test(c);
const isUpper = (c: string | undefined) => c !== undefined && c !== c.toLowerCase() && c === c.toUpperCase();
const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';

/** What the text at a terminal run means. */
type Verdict = { kind: 'boundary'; end: number } | { kind: 'none'; next: number } | { kind: 'wait' };

export class SentenceSplitter {
  private pending = '';
  /** Everything in `pending` before this index is known not to end a sentence. */
  private scanned = 0;
  /** `pending` starts at the beginning of a line (list markers such as "1." are only there). */
  private atLineStart = true;
  private emittedAny = false;
  private readonly firstCut: number;
  private readonly minCut: number;
  private readonly maxChars: number;

  constructor(options: SentenceSplitterOptions = {}) {
    this.firstCut = options.firstSentenceCommaCutChars ?? FIRST_SENTENCE_COMMA_CUT_CHARS;
    this.minCut = options.minCommaCutChars ?? MIN_COMMA_CUT_CHARS;
    this.maxChars = options.maxSentenceChars ?? MAX_SENTENCE_CHARS;
  }

  /** Adds streamed text; returns the sentences it completed (possibly none). */
  push(text: string): string[] {
    this.pending += text;
    return this.drain(false);
  }

  /** The stream ended: returns whatever is left as the last sentence(s). */
  flush(): string[] {
    const out = this.drain(true);
    const rest = this.pending.trim();
    this.pending = '';
    this.scanned = 0;
    if (rest) out.push(rest);
    return out;
  }

  private drain(final: boolean): string[] {
    const out: string[] = [];
    for (;;) {
      const boundary = this.findBoundary(final);
      if (boundary === undefined) break;
      this.emit(boundary.end, boundary.lineEnd, out);
    }
    const cut = this.findLengthCut(final);
    if (cut !== undefined) this.emit(cut, false, out);
    return out;
  }

  private emit(end: number, lineEnd: boolean, out: string[]): void {
    const sentence = this.pending.slice(0, end).trim();
    this.pending = this.pending.slice(end);
    this.scanned = 0;
    this.atLineStart = lineEnd;
    if (sentence) {
      out.push(sentence);
      this.emittedAny = true;
    }
  }

  /** The end of the first complete sentence in `pending`, if there is one yet. */
  private findBoundary(final: boolean): { end: number; lineEnd: boolean } | undefined {
    const text = this.pending;
    let i = this.scanned;
    while (i < text.length) {
      const c = text[i]!;
      if (c === '\n') return { end: i + 1, lineEnd: true };
      if (CJK_TERMINALS.includes(c)) return { end: i + 1, lineEnd: false };
      if (TERMINALS.includes(c)) {
        const verdict = this.judgeTerminal(i, final);
        if (verdict.kind === 'boundary') return { end: verdict.end, lineEnd: false };
        if (verdict.kind === 'wait') {
          this.scanned = i;
          return undefined;
        }
        i = verdict.next;
        continue;
      }
      i++;
    }
    this.scanned = text.length;
    return undefined;
  }

  /** Decides whether the run of terminal punctuation starting at `start` ends a sentence. */
  private judgeTerminal(start: number, final: boolean): Verdict {
    const text = this.pending;
    let runEnd = start;
    while (runEnd < text.length && TERMINALS.includes(text[runEnd]!)) runEnd++;
    let after = runEnd;
    while (after < text.length && CLOSERS.includes(text[after]!)) after++;
    if (after === text.length) return final ? { kind: 'boundary', end: after } : { kind: 'wait' };
    // "3.14", "example.com", "U.S" inside a word: no space after the dot, no sentence end.
    if (!isSpace(text[after])) return { kind: 'none', next: runEnd };

    const run = text.slice(start, runEnd);
    if (run.includes('!') || run.includes('?')) return { kind: 'boundary', end: after };

    let nextWord = after;
    while (nextWord < text.length && isSpace(text[nextWord])) nextWord++;
    const nextChar = text[nextWord];
    const needsNext = (decide: (c: string) => boolean): Verdict => {
      if (nextChar === undefined) return final ? { kind: 'boundary', end: after } : { kind: 'wait' };
      return decide(nextChar) ? { kind: 'boundary', end: after } : { kind: 'none', next: runEnd };
    };

    // An ellipsis is a pause unless a new sentence visibly starts after it.
    if (run.length > 1 || run === '…') return needsNext(isUpper);

    const word = this.wordBefore(start);
    const lower = word.toLowerCase();
    if (NEVER_FINAL.has(lower)) return { kind: 'none', next: runEnd };
    if (BEFORE_NUMBER.has(lower)) return needsNext((ch) => !isDigit(ch));
    // An initial ("J. K. Rowling"); "plan B. Then" is merged, which is harmless.
    if (word.length === 1 && isUpper(word)) return { kind: 'none', next: runEnd };
    // A numbered list item ("1. Preheat the oven") at the start of a line.
    if (/^\d{1,3}$/.test(word) && this.atLineStart && this.pending.slice(0, start - word.length).trim() === '') {
      return { kind: 'none', next: runEnd };
    }
    // Dotted acronyms (U.S., a.m., U.K.) and a few more can end a sentence or go on.
    if (MAYBE_FINAL.has(lower) || /^(?:\p{L}\.)+\p{L}$/u.test(word)) return needsNext(isUpper);
    return { kind: 'boundary', end: after };
  }

  /** The word that a '.' at `dot` ends, without opening brackets/quotes. */
  private wordBefore(dot: number): string {
    let from = dot;
    while (from > 0 && !isSpace(this.pending[from - 1])) from--;
    let word = this.pending.slice(from, dot);
    while (word.length > 0 && OPENERS.includes(word[0]!)) word = word.slice(1);
    return word;
  }

  /** Where to cut a long unfinished sentence: the first one at a comma, any one past the maximum. */
  private findLengthCut(final: boolean): number | undefined {
    if (final) return undefined;
    // Only text already known to hold no sentence end may be cut.
    const known = this.pending.slice(0, this.scanned);
    if (!this.emittedAny && known.length >= this.firstCut) {
      const comma = lastClauseBreak(known, this.minCut);
      if (comma !== undefined) return comma;
    }
    if (known.length >= this.maxChars) {
      const window = known.slice(0, this.maxChars);
      return lastClauseBreak(window, this.minCut) ?? lastSpace(window) ?? this.maxChars;
    }
    return undefined;
  }
}

/** Index just after the last ", " / "; " at or past `min` (never in "1,000": a space must follow). */
function lastClauseBreak(text: string, min: number): number | undefined {
  for (let i = text.length - 2; i >= min - 1 && i >= 0; i--) {
    if ((text[i] === ',' || text[i] === ';' || text[i] === '，') && isSpace(text[i + 1])) return i + 1;
  }
  return undefined;
}

function lastSpace(text: string): number | undefined {
  const at = text.search(/\s\S*$/);
  return at > 0 ? at : undefined;
}

/** Splits a whole text at once (tests, non-streamed answers). */
export function splitSentences(text: string, options?: SentenceSplitterOptions): string[] {
  const splitter = new SentenceSplitter(options);
  return [...splitter.push(text), ...splitter.flush()];
}
