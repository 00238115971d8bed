/**
 * The speaking half of a turn: final text → responder sentences → reply audio (TTS, then the
 * codec workers' device-ready packets) → pacer → device. The first audio does not wait for the
 * whole answer: each sentence is synthesized as soon as it is complete, one sentence ahead of
 * the one being played.
 * Failures still give the device a complete reply (docs/protocol.md §3.2): a responder failure
 * is announced, apologised for (when TTS works) and ends with `tts stop` reason `error`;
 * a TTS failure ends with `tts stop` reason `error`.
 */
import { ProtocolError, type ErrorCode } from '../../protocol/index.ts';
import type { Responder, ToolSource } from '../brain/types.ts';
import type { Logger } from '../logger.ts';
import type { EncodedClip } from '../audio/reply-codec.ts';
import { ProviderError } from '../providers.ts';
import type { ReplyAudio } from './reply-audio.ts';
import { createReplyPacer, type PacerClock } from './reply-pacer.ts';

/** Synthesize the next sentence while this one plays; more would only waste work on a barge-in. */
export const TTS_LOOKAHEAD_SENTENCES = 1;
export const DEFAULT_APOLOGY_TEXT = "Sorry, I can't answer right now.";

/** What the reply may send; the turn stamps session and turn ids and stops it after an abort. */
export interface ReplyOutput {
  /** Sends `tts start` unless already sent. */
  ttsStart(): void;
  sentenceStart(text: string): void;
  audio(packet: Uint8Array): void;
  ttsStop(reason: 'done' | 'error'): void;
  error(code: ErrorCode, message: string): void;
}

/** Monotonic timestamps the turn turns into TurnTimings. */
export interface ReplyMarks {
  firstToken?: number;
  firstSentence?: number;
  firstAudio?: number;
}

export interface ReplyOptions {
  deviceId: string;
  text: string;
  language?: string;
  responder: Responder;
  /** The device's own tools for this reply (LinkCapabilities.tools). */
  tools?: ToolSource;
  /** The reply's sentences as device-ready packets (the caller opens and closes it). */
  audio: ReplyAudio;
  leadMs: number;
  /** The turn's signal: barge-in, goodbye, disconnect. */
  signal: AbortSignal;
  out: ReplyOutput;
  marks: ReplyMarks;
  /**
   * Filled with the sentences the device was sent to speak, as they start (the turn reads it
   * even after an abort). A sentence counts as spoken once its first audio packet has been
   * sent: from then on the device is playing it (the pacer keeps it at most `leadMs` ahead),
   * so after a barge-in the user heard at least its beginning.
   */
  spoken: string[];
  apologyText: string;
  logger: Logger;
  now: () => number;
  clock?: PacerClock;
}

export interface ReplyOutcome {
  outcome: 'completed' | 'error' | 'aborted';
  errorCode?: ErrorCode;
}

/** Maps a failure to the protocol's code: a ProtocolError keeps its own, a ProviderError names its engine. */
export function errorCodeFor(err: unknown, engine: 'stt_unavailable' | 'llm_unavailable' | 'tts_unavailable'): ErrorCode {
  if (err instanceof ProtocolError) return err.code;
  if (err instanceof ProviderError) return engine;
  return 'internal';
}

interface Sentence {
  text: string;
  packets?: Promise<EncodedClip>;
}

export async function speakReply(o: ReplyOptions): Promise<ReplyOutcome> {
  const { spoken } = o;
  const aborted = (): ReplyOutcome => ({ outcome: 'aborted' });
  // Stops the responder and queued synthesis when TTS fails; the turn's own abort stops everything.
  const stopWork = new AbortController();
  const workSignal = AbortSignal.any([o.signal, stopWork.signal]);
  const queue: Sentence[] = [];
  let cursor = 0;
  let producerDone = false;
  let producerError: unknown;
  let wake: (() => void) | undefined;
  const poke = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  o.signal.addEventListener('abort', poke, { once: true });

  const prefetch = () => {
    for (let i = cursor; i < queue.length && i <= cursor + TTS_LOOKAHEAD_SENTENCES; i++) {
      const s = queue[i]!;
      s.packets ??= o.audio.sentence(s.text, workSignal);
    }
  };

  const producer = (async () => {
    try {
      const sentences = o.responder.reply({
        deviceId: o.deviceId,
        text: o.text,
        language: o.language,
        signal: workSignal,
        ...(o.tools ? { tools: o.tools } : {}),
        onFirstToken: () => {
          o.marks.firstToken ??= o.now();
        },
      });
      for await (const raw of sentences) {
        if (workSignal.aborted) break;
        const text = raw.trim();
        if (!text) continue;
        o.marks.firstSentence ??= o.now();
        o.marks.firstToken ??= o.marks.firstSentence;
        queue.push({ text });
        prefetch();
        poke();
      }
    } catch (err) {
      if (!workSignal.aborted) producerError = err ?? new Error('responder failed');
    } finally {
      producerDone = true;
      poke();
    }
  })();

  const pacer = createReplyPacer({ leadMs: o.leadMs, signal: o.signal, sendPacket: o.out.audio, clock: o.clock });
  const frameMs = o.audio.frameMs;

  /**
   * Sends one sentence's packets through the pacer; false when aborted. Only the model's own
   * sentences count as the turn's reply (`remember`): the apology is not an answer, and as
   * conversation memory it would make the model apologise again.
   */
  const play = async (text: string, clip: EncodedClip, remember = true): Promise<boolean> => {
    o.out.ttsStart();
    o.out.sentenceStart(text);
    let first = true;
    const send = async (packets: Uint8Array[]): Promise<boolean> => {
      for (const packet of packets) {
        if (!(await pacer.send(packet, frameMs))) return false;
        if (first) {
          first = false;
          if (remember) spoken.push(text);
          o.marks.firstAudio ??= o.now();
        }
      }
      return true;
    };
    // The head plays while the codec still encodes the rest (which is there long before the head has played out).
    return (await send(clip.head)) && (await send(await clip.rest));
  };

  try {
    for (;;) {
      if (o.signal.aborted) return aborted();
      const sentence = queue[cursor];
      if (!sentence) {
        if (producerDone) break;
        await new Promise<void>((resolve) => (wake = resolve));
        continue;
      }
      prefetch();
      let ok: boolean;
      try {
        ok = await play(sentence.text, await sentence.packets!);
      } catch (err) {
        if (o.signal.aborted) return aborted();
        stopWork.abort();
        const code = errorCodeFor(err, 'tts_unavailable');
        o.logger.warn({ err, code }, 'speech synthesis failed');
        o.out.error(code, messageOf(err, 'speech synthesis failed'));
        o.out.ttsStart();
        o.out.ttsStop('error');
        return { outcome: 'error', errorCode: code };
      }
      if (!ok) return aborted();
      cursor++;
    }
    if (producerError === undefined) {
      o.out.ttsStart();
      o.out.ttsStop('done');
      return { outcome: 'completed' };
    }
    const code = errorCodeFor(producerError, 'llm_unavailable');
    o.logger.warn({ err: producerError, code }, 'responder failed');
    o.out.error(code, messageOf(producerError, 'the language model failed'));
    if (o.apologyText) {
      try {
        if (!(await play(o.apologyText, await o.audio.sentence(o.apologyText, o.signal), false))) return aborted();
      } catch (err) {
        if (o.signal.aborted) return aborted();
        o.logger.warn({ err }, 'the apology could not be synthesized either');
      }
    }
    o.out.ttsStart();
    o.out.ttsStop('error');
    return { outcome: 'error', errorCode: code };
  } finally {
    o.signal.removeEventListener('abort', poke);
    // Nothing more to produce or synthesize. The producer is not awaited: a responder that
    // ignores its signal must not hold the turn open (it catches its own errors).
    stopWork.abort();
    void producer;
  }
}

function messageOf(err: unknown, fallback: string): string {
  return err instanceof ProtocolError || err instanceof ProviderError ? err.message : fallback;
}
