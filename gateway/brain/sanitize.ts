/**
 * Makes model output fit for the ear. The prompt asks for plain spoken sentences, but
 * models still send markdown, emoji and URLs; whatever gets through is cleaned here,
 * one sentence (or line) at a time, before it reaches TTS and `tts sentence_start`.
 */

const FENCE = '```';

const EMOJI =
  /[\p{Extended_Pictographic}\u{1F1E6}-\u{1F1FF}\u{1F3FB}-\u{1F3FF}\u{FE0E}\u{FE0F}\u{200D}\u{20E3}\u{E0020}-\u{E007F}]/gu;

/** A URL as a person would say it: the site's name, not the scheme and path. */
function speakableUrl(url: string): string {
  const trailing = url.match(/[.,;:!?)]+$/)?.[0] ?? '';
  const bare = url.slice(0, url.length - trailing.length);
  const host = bare.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').replace(/^www\./i, '').split(/[/?#]/)[0] ?? bare;
  return host + trailing;
}

/** Cleans one line or sentence (no code fences: see SpeechSanitizer). Returns '' when nothing speakable is left. */
export function sanitizeForSpeech(input: string): string {
  let text = input;
  // Line structure: headers, quotes, bullets, numbered items, rules, table rows.
  text = text.replace(/^\s*#{1,6}\s+/, '');
  text = text.replace(/^\s*(?:>\s*)+/, '');
  text = text.replace(/^\s*(?:[-*+•▪◦‣]|\d{1,3}[.)])\s+/, '');
  if (/^\s*(?:[-*_=]\s*){3,}$/.test(text)) return '';
  if (/^\s*\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?\s*$/.test(text)) return '';
  if (/^\s*\|.*\|\s*$/.test(text)) {
    text = text
      .trim()
      .replace(/^\||\|$/g, '')
      .split('|')
      .map((cell) => cell.trim())
      .filter(Boolean)
      .join(', ');
  }
  // Inline markup.
  text = text.replace(/!\[([^\]]*)\]\([^)]*\)/g, '$1'); // images: their alt text
  text = text.replace(/\[([^\]]+)\]\((?:[^)\s]+)(?:\s+"[^"]*")?\)/g, '$1'); // links: their text
  text = text.replace(/<(https?:\/\/[^>\s]+)>/gi, '$1'); // autolinks
  text = text.replace(/<\/?[a-z][a-z0-9]*(?:\s[^<>]*)?\/?>/gi, ' '); // html tags
  text = text.replace(/`{1,2}([^`]+)`{1,2}/g, '$1'); // inline code
  text = text.replace(/\b(?:https?:\/\/|www\.)[^\s<>"']+/gi, speakableUrl);
  text = text.replace(/([\p{L}\p{N}._%+-]+)@([\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)+)/gu, '$1 at $2');
  text = text.replace(/(\d)\s+\*\s+(\d)/g, '$1 times $2');
  text = text.replace(/~~|\*+|`+/g, ''); // emphasis and what is left of code marks
  text = text.replace(/(^|[\s(])_{1,2}(?=\S)|(?<=\S)_{1,2}(?=[\s.,;:!?)]|$)/gu, '$1'); // _emphasis_
  text = text.replace(/(?<=\p{L})_(?=\p{L})/gu, ' '); // snake_case reads as two words
  text = text.replace(/(^|\s)#(?=\s|$)/g, '$1');
  text = text.replace(EMOJI, '');
  // Tidy spacing.
  text = text.replace(/\s+/g, ' ').replace(/\s+([.,;:!?…])/g, '$1').trim();
  return /[\p{L}\p{N}]/u.test(text) ? text : '';
}

/**
 * Sanitizes a reply segment by segment, remembering whether it is inside a code block
 * (code is not read aloud).
 */
export class SpeechSanitizer {
  private inCode = false;

  /** Returns the speakable text of this segment, '' when there is none. */
  accept(segment: string): string {
    let rest = segment;
    let spoken = '';
    for (;;) {
      const fence = rest.indexOf(FENCE);
      if (this.inCode) {
        if (fence < 0) return spoken.trim() ? sanitizeForSpeech(spoken) : '';
        this.inCode = false;
        rest = rest.slice(fence + FENCE.length);
        continue;
      }
      if (fence < 0) {
        spoken += ` ${rest}`;
        return sanitizeForSpeech(spoken);
      }
      spoken += ` ${rest.slice(0, fence)}`;
      this.inCode = true;
      // The rest of an opening fence's line is the language name ("```python").
      rest = rest.slice(fence + FENCE.length).replace(/^[\w+#.-]*\s*/, '');
    }
  }
}
