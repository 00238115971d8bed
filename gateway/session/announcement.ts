/**
 * Announcements: text the gateway speaks to a wearable on its own initiative (Home Assistant's
 * notify, the bridge's queue) as a reply-only turn, neither listened for nor recorded.
 */
import { sanitizeForSpeech } from '../brain/sanitize.ts';
import { splitSentences } from '../brain/sentence-splitter.ts';
import type { TurnOutcome } from '../store/types.ts';

/**
 * How an announcement went: `spoken` to the end; `interrupted` by the wearer (barge-in,
 * abort) or the gateway; `failed` (nothing speakable, or TTS failed); `offline` (no session
 * that said hello); `busy` (a turn or another announcement is in progress: try again when idle).
 */
export type AnnounceResult = 'spoken' | 'interrupted' | 'failed' | 'offline' | 'busy';

/** The sentences an announcement speaks: cleaned for the ear and split for pipelined TTS. */
export function announcementSentences(text: string): string[] {
  return text
    .split(/\n+/)
    .flatMap((line) => splitSentences(line))
    .map((sentence) => sanitizeForSpeech(sentence).trim())
    .filter((sentence) => sentence.length > 0);
}

/** An announcement turn's outcome as the caller hears it. */
export function announceResult(outcome: TurnOutcome | undefined): AnnounceResult {
  return outcome === 'completed' ? 'spoken' : outcome === 'aborted' ? 'interrupted' : 'failed';
}
