/**
 * Preemptive generation for one audio turn (docs/latency.md). While the user still holds
 * the button (or, in `auto` mode, while the VAD's silence timer runs), it watches the
 * recognizer's partial transcripts and a pause signal. Once the partial has not changed for
 * `stableMs` and the speaker is silent, it starts a Speculation on that text: the LLM
 * request and the first sentence's synthesis, nothing sent. A partial that moves on
 * discards it (another may start at the next pause); no new one starts after release. At
 * the final transcript it is committed when the texts match after normalisation (case,
 * punctuation, whitespace), else discarded and the turn asks again. At most one is in
 * flight, and at most MAX_SPECULATIONS_PER_TURN start in a turn (each costs an LLM call).
 */
import type { Responder, ToolSource } from '../brain/types.ts';
import type { Logger } from '../logger.ts';
import type { TtsProvider } from '../speech/types.ts';
import { EnergyPauseDetector } from '../speech/vad/pause-detector.ts';
import type { SessionEvents, SpeculationDiscardReason } from './events.ts';
import type { PreemptionSettings } from './preemption-config.ts';
import { Speculation, type CommittedReply } from './speculation.ts';

/**
 * Bounds what one turn can cost in discarded LLM calls (a speaker thinking aloud, a recognizer
 * whose partials flicker in noise). Generous: long turns pause between sentences, and it is
 * the last pause, before release, that must still get its speculation.
 */
export const MAX_SPECULATIONS_PER_TURN = 8;

/** What two transcripts must share to be "the same": words, ignoring case, punctuation and spacing. */
export function normalizeTranscript(text: string): string {
  return text.normalize('NFKC').toLocaleLowerCase().replace(/\p{P}+/gu, '').replace(/\s+/g, ' ').trim();
}

export interface PreemptionOptions {
  settings: PreemptionSettings;
  deviceId: string;
  turn: number;
  responder: Responder;
  /** The device's own tools (each speculation offers them, as the turn's reply would). */
  tools?: ToolSource;
  tts: TtsProvider;
  /** The turn's signal. */
  signal: AbortSignal;
  /** Already guarded (see guardEvents). */
  report: Required<SessionEvents>['speculation'];
  logger: Logger;
  now: () => number;
}

/** What the turn's record says about preemption. */
export interface PreemptionOutcome {
  /** true: the reply was a committed speculation; false: speculations ran and were all discarded; undefined: none ran. */
  preempted?: boolean;
  /** When the committed speculation started (monotonic ms). */
  committedStartedAt?: number;
}

export class Preemption {
  /** The pause signal, fed with the turn's audio (bookkeeping-sized: one pass over the samples). */
  private readonly pauses = new EnergyPauseDetector();
  private current: Speculation | undefined;
  private partial = '';
  private partialText = '';
  private changedAt: number;
  private timer: NodeJS.Timeout | undefined;
  private started = 0;
  /** Released, settled or failed: no new speculation. */
  private closed = false;
  private readonly result: PreemptionOutcome = {};

  constructor(private readonly o: PreemptionOptions) {
    this.changedAt = o.now();
  }

  get outcome(): PreemptionOutcome {
    return this.result;
  }

  /** Every partial transcript of the recognizer while the turn is listening. */
  heard(partial: string): void {
    const key = normalizeTranscript(partial);
    if (key === this.partial) return;
    this.partial = key;
    this.partialText = partial.trim();
    this.changedAt = this.o.now();
    if (this.current && normalizeTranscript(this.current.text) !== key) this.discard('changed');
    clearTimeout(this.timer);
    this.timer = undefined;
    this.check();
  }

  /** Each chunk of audio the turn takes before release (the pause signal may have changed). */
  audio(samples: Float32Array): void {
    this.pauses.accept(samples);
    this.check();
  }

  /** The button was released (or the VAD ended the turn): the final decides. */
  released(): void {
    this.close();
  }

  /** At the final transcript: the committed reply when the speculation matches it; otherwise it is discarded. */
  settle(finalText: string): CommittedReply | undefined {
    this.close();
    const speculation = this.current;
    this.current = undefined;
    if (!speculation) return undefined;
    const final = normalizeTranscript(finalText);
    if (!final) return this.end(speculation, 'empty');
    if (final !== normalizeTranscript(speculation.text)) return this.end(speculation, 'changed');
    this.result.preempted = true;
    this.result.committedStartedAt = speculation.startedAt;
    this.o.report({ deviceId: this.o.deviceId, turn: this.o.turn, event: 'committed' });
    this.o.logger.debug({ text: speculation.text, leadMs: Math.round(this.o.now() - speculation.startedAt) }, 'speculative reply committed');
    return speculation.commit();
  }

  /** The turn ends without a final to settle on (abort, recognizer failure, the turn failed). */
  cancel(reason: SpeculationDiscardReason): void {
    this.close();
    const speculation = this.current;
    this.current = undefined;
    if (speculation) this.end(speculation, reason);
  }

  private check(): void {
    if (this.closed || this.current || !this.partial || this.started >= MAX_SPECULATIONS_PER_TURN) return;
    const wait = this.changedAt + this.o.settings.stableMs - this.o.now();
    if (wait > 0) {
      // Audio keeps arriving while the button is held; the timer covers a device that pauses sending.
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        this.check();
      }, Math.ceil(wait));
      return;
    }
    if (this.pauses.silentNow()) this.start();
  }

  private start(): void {
    this.started++;
    const text = this.partialText;
    const speculation = new Speculation({
      deviceId: this.o.deviceId,
      text,
      responder: this.o.responder,
      tools: this.o.tools,
      tts: this.o.tts,
      signal: this.o.signal,
      now: this.o.now,
      onFailed: () => {
        if (this.current !== speculation) return;
        // The model failed: asking again while the user speaks would likely fail too; the final will ask.
        this.current = undefined;
        this.close();
        this.end(speculation, 'failed');
      },
    });
    this.current = speculation;
    this.o.report({ deviceId: this.o.deviceId, turn: this.o.turn, event: 'started' });
    this.o.logger.debug({ text }, 'speculative reply started');
  }

  private discard(reason: SpeculationDiscardReason): void {
    const speculation = this.current;
    this.current = undefined;
    if (speculation) this.end(speculation, reason);
  }

  private end(speculation: Speculation, reason: SpeculationDiscardReason): undefined {
    speculation.discard();
    this.result.preempted ??= false;
    this.o.report({ deviceId: this.o.deviceId, turn: this.o.turn, event: 'discarded', reason });
    this.o.logger.debug({ text: speculation.text, reason }, 'speculative reply discarded');
    return undefined;
  }

  private close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
