/**
 * The face a reply should show, for devices with a display (stock xiaozhi firmware's `llm
 * {emotion}`). Chosen from the reply's first sentence by a few cues, so it costs no model call
 * and appears with the first audio. The names are the firmware's (esp-hi emoji_display.cc,
 * esp-vocat emote.json); anything not clearly something else is `neutral`.
 */

export const EMOTIONS = [
  'neutral',
  'happy',
  'laughing',
  'funny',
  'sad',
  'angry',
  'crying',
  'loving',
  'embarrassed',
  'surprised',
  'shocked',
  'thinking',
  'winking',
  'relaxed',
  'delicious',
  'confident',
  'sleepy',
  'silly',
  'confused',
] as const;
export type Emotion = (typeof EMOTIONS)[number];

/** First match wins: the strongest cues first, questions and plain friendliness last. */
const CUES: ReadonlyArray<readonly [Emotion, RegExp]> = [
  ['laughing', /\b(ha(ha)+|lol|hilarious)\b|😂|🤣|哈哈/i],
  ['crying', /😭|😢|\bheartbroken\b/i],
  ['angry', /\b(angry|furious|outrageous)\b|😠|😡|生气/i],
  ['sad', /\b(sorry|unfortunately|sadly|afraid (i|that)|can(no|')t)\b|☹|🙁|😞|抱歉|对不起|遗憾/i],
  ['shocked', /\b(oh no|yikes|shocking)\b|😱/i],
  ['surprised', /\b(wow|whoa|amazing|incredible|really\?)|😮|😲|哇/i],
  ['loving', /\b(love|adore|sweet(heart)?|darling)\b|❤|😍|🥰|爱/i],
  ['delicious', /\b(delicious|tasty|yummy)\b|😋|好吃/i],
  ['sleepy', /\b(sleepy|good ?night|bedtime)\b|😴|晚安/i],
  ['funny', /\b(funny|joke|kidding)\b|😄|😆|笑话/i],
  ['winking', /😉/],
  ['embarrassed', /\b(oops|embarrass\w*)\b|😳|😅/i],
  ['confused', /\b(not sure|confus\w*|no idea)\b|😕|🤔|不确定/i],
  ['thinking', /\b(let me (think|check|see)|hmm+)\b|想想/i],
  ['confident', /\b(of course|certainly|absolutely|definitely)\b|😎|当然/i],
  ['relaxed', /\b(relax\w*|calm|no worries|take it easy)\b|😌/i],
  ['happy', /\b(great|glad|happy|nice|good|sure|done|hello|hi|hey|welcome|congrat\w*)\b|!|😊|🙂|😀|好的|你好/i],
  ['thinking', /\?\s*$/],
];

/** The emotion of a reply, from its first sentence. */
export function emotionOf(text: string): Emotion {
  for (const [emotion, cue] of CUES) if (cue.test(text)) return emotion;
  return 'neutral';
}
