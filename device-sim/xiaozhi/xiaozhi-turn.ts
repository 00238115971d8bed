/**
 * One turn of a simulated stock xiaozhi device, from its side: the transcript (`stt`), the
 * face (`llm`), the reply (`tts start`, `sentence_start`, Opus frames, `tts stop`) and the
 * timings; and whether it ended (tts stop, no reply after an empty transcript, a limit of
 * timeouts.ts, the connection). The result has the simulator's common TurnResult shape.
 */
import type { ProtocolIssue, TurnKind, TurnResult, TurnStopReason } from '../turn-result.ts';
import type { SimTimeouts } from '../timeouts.ts';
import { AudioAccumulator } from '../audio-decoder.ts';

type Phase = 'streaming' | 'awaiting_final' | 'awaiting_reply' | 'speaking' | 'aborting' | 'settling' | 'done';

/** After `tts stop` of an aborted reply: anything more of it within this window is a protocol issue. */
export const ABORT_SETTLE_MS = 300;

export interface XiaozhiTurnOptions {
  kind: TurnKind;
  timeouts: SimTimeouts;
  sampleRate: number;
  abortAfterMs: number | undefined;
  sendAbort(): void;
  now(): number;
}

export class XiaozhiTurn {
  readonly result: Promise<TurnResult>;
  readonly emotions: string[] = [];
  readonly errors: ProtocolIssue[] = [];
  private resolveResult!: (result: TurnResult) => void;
  private phase: Phase;
  private final: string | null = null;
  private readonly sentences: string[] = [];
  private readonly audio = new AudioAccumulator();
  private packets = 0;
  private micFrames = 0;
  private errorSeen = false;
  private stopReason: TurnStopReason | undefined;
  private readonly startedAt: number;
  private releasedAt: number | undefined;
  private finalAt: number | undefined;
  private firstAudioAt: number | undefined;
  private abortAt: number | undefined;
  private stopAt: number | undefined;
  private lastAudioAfterAbortAt: number | undefined;
  private audioAfterAbort = 0;
  private deadline: NodeJS.Timeout | undefined;
  private abortTimer: NodeJS.Timeout | undefined;
  /** Resolves when the gateway started speaking or the turn ended (auto/realtime stop streaming then). */
  readonly speakingOrDone: Promise<void>;
  private resolveSpeaking!: () => void;

  constructor(private readonly o: XiaozhiTurnOptions) {
    this.phase = o.kind === 'audio' ? 'streaming' : 'awaiting_reply';
    this.startedAt = o.now();
    this.result = new Promise((resolve) => (this.resolveResult = resolve));
    this.speakingOrDone = new Promise((resolve) => (this.resolveSpeaking = resolve));
    if (o.kind === 'typed') {
      this.releasedAt = this.startedAt;
      this.arm(o.timeouts.replyStartMs, 'no reply to the typed text');
    }
  }

  get done(): boolean {
    return this.phase === 'done';
  }

  /** The microphone was released after `frames` frames (manual: `listen stop` follows). */
  released(frames: number): void {
    this.micFrames = frames;
    this.releasedAt ??= this.o.now();
    if (this.phase === 'streaming') {
      this.phase = 'awaiting_final';
      this.arm(this.o.timeouts.finalMs, 'no transcript after release');
    }
  }

  stt(text: string): void {
    if (this.phase === 'done') return;
    this.final = text;
    this.finalAt ??= this.o.now();
    this.releasedAt ??= this.finalAt;
    if (this.phase === 'streaming' || this.phase === 'awaiting_final') {
      this.phase = 'awaiting_reply';
      // An empty transcript gets no reply; anything else gets one.
      if (text === '') this.arm(this.o.timeouts.emptyFinalGraceMs, undefined, 'no_reply');
      else this.arm(this.o.timeouts.replyStartMs, 'no tts start after the transcript');
    }
  }

  emotion(name: string): void {
    this.emotions.push(name);
  }

  ttsStart(): void {
    if (this.phase === 'done' || this.phase === 'aborting' || this.phase === 'settling') return;
    this.phase = 'speaking';
    this.resolveSpeaking();
    this.arm(this.o.timeouts.replyIdleMs, 'reply audio stalled');
  }

  sentence(text: string): void {
    if (this.phase !== 'done') this.sentences.push(text);
  }

  /** One decoded reply packet (already checked by the device). */
  audioPacket(samples: Float32Array): void {
    if (this.phase === 'done') return;
    const t = this.o.now();
    if (this.abortAt !== undefined) {
      this.audioAfterAbort++;
      this.lastAudioAfterAbortAt = t;
    }
    this.packets++;
    this.audio.push(samples);
    if (this.firstAudioAt === undefined) {
      this.firstAudioAt = t;
      if (this.o.abortAfterMs !== undefined) this.abortTimer = setTimeout(() => this.abort(), this.o.abortAfterMs);
    }
    if (this.phase === 'speaking') this.arm(this.o.timeouts.replyIdleMs, 'reply audio stalled');
  }

  ttsStop(): void {
    if (this.phase === 'done' || this.phase === 'settling') return;
    this.stopAt ??= this.o.now();
    if (this.abortAt !== undefined) {
      this.stopReason = 'aborted';
      this.phase = 'settling';
      this.arm(ABORT_SETTLE_MS, undefined, 'aborted');
      return;
    }
    this.finish(this.errorSeen ? 'error' : 'done');
  }

  gatewayError(issue: ProtocolIssue): void {
    this.errorSeen = true;
    this.errors.push(issue);
  }

  addIssue(issue: ProtocolIssue): void {
    if (!this.errors.includes(issue)) this.errors.push(issue);
  }

  disconnected(): void {
    this.finish('disconnected');
  }

  private abort(): void {
    if (this.phase === 'done' || this.abortAt !== undefined) return;
    this.abortAt = this.o.now();
    this.phase = 'aborting';
    this.o.sendAbort();
    this.arm(this.o.timeouts.abortStopMs, 'no tts stop after abort');
  }

  private arm(ms: number, issue: string | undefined, reason: TurnStopReason = 'timeout'): void {
    clearTimeout(this.deadline);
    this.deadline = setTimeout(() => {
      if (issue) this.errors.push({ kind: 'timeout', message: issue, atMs: this.o.now() });
      this.finish(reason);
    }, ms);
  }

  private finish(reason: TurnStopReason): void {
    if (this.phase === 'done') return;
    this.phase = 'done';
    this.stopReason ??= reason;
    if (reason === 'timeout' || reason === 'disconnected') this.stopReason = reason;
    clearTimeout(this.deadline);
    clearTimeout(this.abortTimer);
    this.resolveSpeaking();
    const end = this.o.now();
    const span = (from: number | undefined, to: number | undefined) => (from !== undefined && to !== undefined ? to - from : null);
    this.resolveResult({
      kind: this.o.kind,
      turn: null,
      partials: [],
      final: this.final,
      sentences: this.sentences,
      replyAudio: { samples: this.audio.join(), sampleRate: this.o.sampleRate, packets: this.packets },
      stopReason: this.stopReason,
      errors: this.errors,
      micFrames: this.micFrames,
      abortSent: this.abortAt !== undefined,
      audioPacketsAfterAbort: this.audioAfterAbort,
      replySeqGaps: 0,
      timings: {
        streamMs: this.o.kind === 'audio' ? span(this.startedAt, this.releasedAt) : null,
        releaseToFinalMs: span(this.releasedAt, this.finalAt),
        releaseToFirstAudioMs: span(this.releasedAt, this.firstAudioAt),
        totalMs: end - this.startedAt,
        abortToStopMs: span(this.abortAt, this.stopAt),
        abortToLastAudioMs: this.abortAt === undefined ? null : (span(this.abortAt, this.lastAudioAfterAbortAt) ?? 0),
      },
    });
  }
}
