/**
 * One utterance and its reply: listening (audio turns) → thinking → speaking → ended.
 * A turn is cancelled as a whole: one AbortController reaches the recognizer stream, the
 * responder, the TTS jobs and the pacer, and after an abort the turn sends nothing more
 * (except the `tts stop` reason `aborted` that ends a reply in progress). Every turn ends
 * exactly once, is recorded (TurnRecorder) and logged with its timings.
 *
 * An audio turn may start its reply before the button is released (preemption.ts): a
 * speculation committed at the final transcript is the reply; one that is not was never
 * heard, stored or remembered.
 *
 * An announcement is a reply-only turn the gateway starts (home automation making the
 * wearable speak): given sentences are spoken (`tts start`, `sentence_start`, audio,
 * `tts stop`) with no transcript, and it is neither recorded nor part of the conversation.
 */
import type { AudioFormat, ErrorCode, GatewayAudioParams, GatewayMessage } from '../../protocol/index.ts';
import { emotionOf } from '../brain/emotion.ts';
import type { ReplyCodec } from '../audio/reply-codec.ts';
import type { Responder } from '../brain/types.ts';
import type { Logger } from '../logger.ts';
import type { SttProvider, TtsProvider, TurnEndDetectorFactory } from '../speech/types.ts';
import type { TurnOutcome, TurnRecord, TurnRecorder, TurnTimings } from '../store/types.ts';
import type { SessionEvents } from './events.ts';
import type { Limits } from './limits-config.ts';
import type { DeviceLink, InboundAudio } from './link.ts';
import { Preemption } from './preemption.ts';
import type { PreemptionSettings } from './preemption-config.ts';
import { openReplyAudio } from './reply-audio.ts';
import type { PacerClock } from './reply-pacer.ts';
import type { CommittedReply } from './speculation.ts';
import { TurnListener } from './turn-listener.ts';
import { errorCodeFor, speakReply, type ReplyMarks, type ReplyOutput } from './turn-reply.ts';

export type TurnPhase = 'listening' | 'thinking' | 'speaking' | 'ended';
/** Why a turn was cut short (logged; the record's outcome is `aborted`). */
export type TurnAbortReason = 'barge_in' | 'abort' | 'restarted' | 'goodbye' | 'disconnected' | 'replaced' | 'shutdown';

export interface TurnDeps {
  stt: SttProvider;
  tts: TtsProvider;
  /** Turns synthesized sentences into device-ready packets (the gateway's codec workers). */
  codec: ReplyCodec;
  responder: Responder;
  recorder: TurnRecorder;
  limits: Limits;
  /** Already guarded (see guardEvents). */
  events: Required<SessionEvents>;
  apologyText: string;
  clock?: PacerClock;
  /** Preemptive generation for audio turns; off when absent. */
  preemption?: PreemptionSettings;
}

export interface TurnOptions {
  deviceId: string;
  sessionId: string;
  turnId: number;
  /** The device chose the turn id (`listen start.turn`); otherwise the gateway numbered it. */
  deviceNumbered: boolean;
  link: DeviceLink;
  /** The session's logger; the turn adds `turn`. */
  logger: Logger;
  deps: TurnDeps;
  replyParams: GatewayAudioParams;
  onPhase: (turn: Turn, phase: TurnPhase) => void;
}

export interface AudioTurnOptions extends TurnOptions {
  micFormat: AudioFormat;
  micFrameMs: number;
  /** The device wants partial transcripts (hello `features.partial_stt` is not false). */
  partials: boolean;
  /** `auto` listen mode: the VAD ends the turn (the recognizer's own, else one from `detectors`). */
  autoEnd?: { detectors?: TurnEndDetectorFactory };
}

const now = () => performance.now();

/** A responder that speaks fixed sentences (announcements); it never fails. */
function fixedSentences(sentences: readonly string[]): Responder {
  return {
    async *reply() {
      yield* sentences;
    },
    resetConversation() {},
  };
}

export class Turn {
  readonly id: number;
  readonly kind: 'audio' | 'text' | 'announce';
  readonly deviceNumbered: boolean;
  private phaseNow: TurnPhase;
  private readonly controller = new AbortController();
  private readonly log: Logger;
  private readonly startedAt = Date.now();
  private readonly t0 = now();
  private readonly marks: ReplyMarks & { release?: number; final?: number } = {};
  private readonly spoken: string[] = [];
  private readonly listener: TurnListener | undefined;
  private readonly preemption: Preemption | undefined;
  private transcript = '';
  private closed = false;
  private outcomeValue: TurnOutcome | undefined;
  private finalSent = false;
  private ttsStarted = false;
  private ttsStopped = false;
  private emotionSent = false;
  private resolveDone!: () => void;
  /** Resolves once the turn has ended and been recorded. */
  readonly done = new Promise<void>((resolve) => (this.resolveDone = resolve));

  static audio(options: AudioTurnOptions): Turn {
    return new Turn(options, 'audio', undefined);
  }

  static text(options: TurnOptions, text: string): Turn {
    return new Turn(options, 'text', text);
  }

  /** A reply-only turn that speaks `sentences` (already sanitized and split). */
  static announce(options: TurnOptions, sentences: readonly string[]): Turn {
    return new Turn(options, 'announce', undefined, sentences);
  }

  private constructor(
    private readonly o: TurnOptions | AudioTurnOptions,
    kind: 'audio' | 'text' | 'announce',
    typed: string | undefined,
    announcement: readonly string[] = [],
  ) {
    this.id = o.turnId;
    this.kind = kind;
    this.deviceNumbered = o.deviceNumbered;
    this.log = o.logger.child({ turn: o.turnId });
    if (kind === 'audio') {
      const a = o as AudioTurnOptions;
      this.phaseNow = 'listening';
      this.preemption = this.createPreemption(a);
      this.listener = new TurnListener({
        stt: o.deps.stt,
        micFormat: a.micFormat,
        micFrameMs: a.micFrameMs,
        limits: o.deps.limits,
        signal: this.controller.signal,
        logger: this.log,
        autoEnd: a.autoEnd,
        onPartial: a.partials ? (text) => this.sendStt(text, false) : undefined,
        onHeard: this.preemption ? (text) => this.preempt((p) => p.heard(text)) : undefined,
        onAudio: this.preemption ? (samples) => this.preempt((p) => p.audio(samples)) : undefined,
        onError: (code, message) => this.sendError(code, message),
        onRelease: () => {
          this.preempt((p) => p.released());
          this.setPhase('thinking');
        },
      });
      void this.run(() => this.listen());
    } else if (kind === 'announce') {
      this.phaseNow = 'thinking';
      void this.announce(announcement);
    } else {
      this.phaseNow = 'thinking';
      this.marks.release = this.t0;
      void this.run(async () => typed ?? '');
    }
  }

  get phase(): TurnPhase {
    return this.phaseNow;
  }

  /** How the turn ended; undefined until it has. */
  get outcome(): TurnOutcome | undefined {
    return this.outcomeValue;
  }

  /** Whether microphone audio is still taken for this turn. */
  get acceptsAudio(): boolean {
    return this.listener?.accepting ?? false;
  }

  receiveAudio(audio: InboundAudio): void {
    this.listener?.receive(audio);
  }

  /** `listen stop` (with the device's frame count when it sent one). */
  stop(frames?: number): void {
    this.listener?.stop(frames);
  }

  /** Cuts the turn short: nothing more is sent except `tts stop` reason `aborted` for a reply in progress. */
  abort(reason: TurnAbortReason): void {
    if (this.closed) return;
    this.log.debug({ reason }, 'turn aborted');
    this.preempt((p) => p.cancel('aborted'));
    if (this.ttsStarted && !this.ttsStopped) this.send({ type: 'tts', session_id: this.o.sessionId, state: 'stop', turn: this.id, reason: 'aborted' });
    this.closed = true;
    this.controller.abort();
    this.end('aborted');
  }

  private async listen(): Promise<string | undefined> {
    const result = await this.listener!.result;
    if (this.closed) return undefined;
    this.marks.release = this.listener!.releasedAt ?? now();
    this.marks.final = now();
    if (result.sttError !== undefined) {
      this.preempt((p) => p.cancel('stt_failed'));
      const code = errorCodeFor(result.sttError, 'stt_unavailable');
      this.log.warn({ err: result.sttError, code }, 'speech recognition failed');
      this.sendError(code, 'speech recognition failed');
      this.sendStt('', true);
      this.end('error', code);
      return undefined;
    }
    return result.text;
  }

  /** The whole turn after its text is known; never throws. */
  private async run(getText: () => Promise<string | undefined>): Promise<void> {
    try {
      const text = await getText();
      if (text === undefined || this.closed) return;
      this.marks.final ??= now();
      this.transcript = text;
      const committed = this.preempt((p) => p.settle(text));
      this.sendStt(text, true);
      this.o.deps.events.transcript({ deviceId: this.o.deviceId, turn: this.id, text });
      if (!text) return this.end('empty');
      this.setPhase('thinking');
      await this.speak(text, this.o.deps.responder, this.o.deps.apologyText, committed);
    } catch (err) {
      this.failed(err);
    }
  }

  /** An announcement: its sentences spoken, nothing heard, nothing to apologise for. */
  private async announce(sentences: readonly string[]): Promise<void> {
    try {
      await this.speak(sentences.join(' '), fixedSentences(sentences), '');
    } catch (err) {
      this.failed(err);
    }
  }

  /** Speaks the reply to `text` (or the committed speculation's) and ends the turn with its outcome. */
  private async speak(text: string, responder: Responder, apologyText: string, committed?: CommittedReply): Promise<void> {
    if (committed) {
      this.marks.firstToken = committed.firstToken;
      this.marks.firstSentence = committed.firstSentence;
    }
    // A committed speculation's TTS serves the first sentence's audio it already made.
    const audio = openReplyAudio({ tts: committed?.tts ?? this.o.deps.tts, codec: this.o.deps.codec, params: this.o.replyParams });
    let result;
    try {
      result = await speakReply({
        deviceId: this.o.deviceId,
        text,
        responder: committed?.responder ?? responder,
        tools: this.o.link.capabilities?.tools,
        audio,
        leadMs: Math.min(this.o.deps.limits.leadMs, this.o.link.capabilities?.maxLeadMs ?? Infinity),
        signal: this.controller.signal,
        out: this.replyOutput(),
        marks: this.marks,
        spoken: this.spoken,
        apologyText,
        logger: this.log,
        now,
        clock: this.o.deps.clock,
      });
    } finally {
      audio.close();
    }
    if (result.outcome === 'aborted') return; // abort() already ended the turn
    this.end(result.outcome, result.errorCode);
  }

  private failed(err: unknown): void {
    if (this.closed) return;
    this.log.error({ err }, 'turn failed unexpectedly');
    this.sendError('internal', 'internal gateway error');
    if (this.kind === 'audio' && !this.finalSent) this.sendStt('', true);
    if (this.ttsStarted && !this.ttsStopped) this.sendTtsStop('error');
    this.end('error', 'internal');
  }

  private replyOutput(): ReplyOutput {
    return {
      ttsStart: () => {
        if (this.ttsStarted || this.closed) return;
        this.ttsStarted = true;
        this.send({ type: 'tts', session_id: this.o.sessionId, state: 'start', turn: this.id });
        this.setPhase('speaking');
      },
      sentenceStart: (text) => {
        if (this.o.link.capabilities?.emotion && !this.emotionSent) {
          this.emotionSent = true;
          this.send({ type: 'llm', session_id: this.o.sessionId, emotion: emotionOf(text) });
        }
        this.send({ type: 'tts', session_id: this.o.sessionId, state: 'sentence_start', text, turn: this.id });
      },
      audio: (packet) => this.sendAudio(packet),
      ttsStop: (reason) => this.sendTtsStop(reason),
      error: (code, message) => this.sendError(code, message),
    };
  }

  private sendTtsStop(reason: 'done' | 'error'): void {
    if (!this.ttsStarted || this.ttsStopped) return;
    this.send({ type: 'tts', session_id: this.o.sessionId, state: 'stop', turn: this.id, reason });
    this.ttsStopped = true;
  }

  private sendStt(text: string, final: boolean): void {
    if (this.finalSent) return;
    if (final) this.finalSent = true;
    this.send({ type: 'stt', session_id: this.o.sessionId, text, final, turn: this.id });
  }

  private sendError(code: ErrorCode, message: string): void {
    this.send({ type: 'error', session_id: this.o.sessionId, code, message, turn: this.id });
  }

  private audioSeq = 0;
  private sendAudio(packet: Uint8Array): void {
    if (this.closed) return;
    try {
      this.o.link.sendAudio(packet, this.id, this.audioSeq);
    } catch (err) {
      this.log.warn({ err }, 'sending reply audio failed');
    }
    this.audioSeq = (this.audioSeq + 1) & 0xffff;
  }

  private send(message: GatewayMessage): void {
    if (this.closed) return;
    try {
      this.o.link.send(message);
    } catch (err) {
      this.log.warn({ err, type: message.type }, 'sending to the device failed');
    }
  }

  private setPhase(phase: TurnPhase): void {
    if (this.phaseNow === phase || this.phaseNow === 'ended') return;
    this.phaseNow = phase;
    this.o.onPhase(this, phase);
  }

  private createPreemption(a: AudioTurnOptions): Preemption | undefined {
    const { deps } = a;
    if (!deps.preemption?.enabled || !deps.stt.capabilities.partials) return undefined;
    return new Preemption({
      settings: deps.preemption,
      deviceId: a.deviceId,
      turn: a.turnId,
      responder: deps.responder,
      tools: a.link.capabilities?.tools,
      tts: deps.tts,
      signal: this.controller.signal,
      report: deps.events.speculation,
      logger: this.log,
      now,
    });
  }

  /** Preemption only ever saves time: a bug there is logged once and the turn goes on without it. */
  private preemptionFailed = false;
  private preempt<T>(step: (p: Preemption) => T): T | undefined {
    if (!this.preemption || this.preemptionFailed) return undefined;
    try {
      return step(this.preemption);
    } catch (err) {
      this.preemptionFailed = true;
      this.log.error({ err }, 'preemptive generation failed; this turn goes on without it');
      try {
        this.preemption.cancel('aborted');
      } catch {
        // already reported
      }
      return undefined;
    }
  }

  /** Ends the turn once: records it, tells listeners, logs the timings. */
  private end(outcome: TurnOutcome, errorCode?: ErrorCode): void {
    if (this.phaseNow === 'ended') return;
    this.closed = true;
    this.preempt((p) => p.cancel('aborted')); // a speculation still in flight (none after a final)
    this.outcomeValue = outcome;
    this.controller.abort(); // releases the recognizer and anything still running
    if (this.kind === 'announce') {
      // Not a conversation turn: nothing recorded, no transcript or reply events.
      this.setPhase('ended');
      this.log.info({ kind: this.kind, outcome, errorCode, timings: this.timings() }, 'announcement ended');
      this.resolveDone();
      return;
    }
    const record: TurnRecord = {
      deviceId: this.o.deviceId,
      turn: this.id,
      kind: this.kind,
      startedAt: this.startedAt,
      endedAt: Date.now(),
      transcript: this.transcript,
      reply: this.spoken.join(' '),
      timings: this.timings(),
      outcome,
      ...(errorCode ? { errorCode } : {}),
    };
    this.setPhase('ended');
    const { recorder, events } = this.o.deps;
    try {
      recorder.recordTurn(record);
    } catch (err) {
      this.log.error({ err }, 'recording the turn failed');
    }
    events.turnRecorded(record);
    if (record.reply) events.reply({ deviceId: this.o.deviceId, turn: this.id, text: record.reply });
    this.log.info({ kind: this.kind, outcome, errorCode, timings: record.timings }, 'turn ended');
    this.log.debug({ transcript: record.transcript, reply: record.reply }, 'turn text');
    this.resolveDone();
  }

  private timings(): TurnTimings {
    const m = this.marks;
    const span = (from: number | undefined, to: number | undefined) =>
      from !== undefined && to !== undefined ? Math.round(to - from) : undefined;
    const t: TurnTimings = {
      releaseToFinalMs: this.kind === 'audio' ? span(m.release, m.final) : undefined,
      finalToFirstTokenMs: span(m.final, m.firstToken),
      firstTokenToFirstSentenceMs: span(m.firstToken, m.firstSentence),
      firstSentenceToFirstAudioMs: span(m.firstSentence, m.firstAudio),
      releaseToFirstAudioMs: span(m.release, m.firstAudio),
      totalMs: Math.round(now() - this.t0),
      audioMs: this.listener ? Math.round(this.listener.audioMs) : undefined,
      preempted: this.preemption?.outcome.preempted,
      speculationLeadMs: span(this.preemption?.outcome.committedStartedAt, m.release),
    };
    for (const key of Object.keys(t) as (keyof TurnTimings)[]) if (t[key] === undefined) delete t[key];
    return t;
  }
}
