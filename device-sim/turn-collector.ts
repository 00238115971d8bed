/**
 * Follows one turn from the device's side (docs/protocol.md §4): collects partials, the final transcript,
 * reply sentences and reply audio, measures the timings, and decides when the turn is over —
 * `tts stop`, an empty final with no reply, or one of the limits of timeouts.ts. Owns at most
 * three timers (phase deadline, abort, none left after finish) and a decoder, all released on finish.
 */
import type { AudioFormat, GatewayMessage } from '../protocol/index.ts';
import { AudioAccumulator, createReplyDecoder, type ReplyDecoder } from './audio-decoder.ts';
import type { ReplyFrameHeader, SimTransport } from './connection.ts';
import type { SimTimeouts } from './timeouts.ts';
import type { ProtocolIssue, ProtocolIssueKind, TurnKind, TurnResult, TurnStopReason } from './turn-result.ts';

type Phase = 'streaming' | 'awaiting_final' | 'awaiting_reply' | 'speaking' | 'aborting' | 'tail' | 'done';

export interface TurnCollectorOptions {
  kind: TurnKind;
  /** Device-chosen id (audio turns); typed turns adopt the gateway's. */
  turn: number | undefined;
  /** A typed turn never adopts this id (the device's previous turn, whose late messages may still arrive). */
  staleTurn: number | undefined;
  transport: SimTransport;
  reply: { format: AudioFormat; sampleRate: number };
  timeouts: SimTimeouts;
  abortAfterMs: number | undefined;
  sendAbort(): void;
  /** Records a protocol issue on the device (which routes it back here through addIssue). */
  reportIssue(kind: ProtocolIssueKind, message: string, turn: number | undefined): void;
  now(): number;
}

export class TurnCollector {
  readonly result: Promise<TurnResult>;
  private resolveResult!: (result: TurnResult) => void;
  private readonly options: TurnCollectorOptions;
  private turn: number | undefined;
  private phase: Phase;
  private readonly listening = new AbortController();
  private listeningEndedByGateway = false;

  private readonly partials: string[] = [];
  private final: string | null = null;
  private readonly sentences: string[] = [];
  private readonly errors: ProtocolIssue[] = [];
  private errorSeen = false;
  private micFrames = 0;
  private ttsStarted = false;
  private stopReason: TurnStopReason | undefined;

  private decoder: ReplyDecoder | undefined;
  private readonly audio = new AudioAccumulator();
  private replyPackets = 0;
  private nextSeq: number | undefined;
  private replySeqGaps = 0;
  private audioPacketsAfterAbort = 0;

  private readonly startedAt: number;
  private releasedAt: number | undefined;
  private finalAt: number | undefined;
  private firstAudioAt: number | undefined;
  private stopAt: number | undefined;
  private abortSentAt: number | undefined;
  private lastAudioAfterAbortAt: number | undefined;

  private deadline: NodeJS.Timeout | undefined;
  private abortTimer: NodeJS.Timeout | undefined;

  constructor(options: TurnCollectorOptions) {
    this.options = options;
    this.turn = options.turn;
    this.phase = options.kind === 'audio' ? 'streaming' : 'awaiting_reply';
    this.startedAt = options.now();
    this.result = new Promise((resolve) => (this.resolveResult = resolve));
  }

  get turnId(): number | undefined {
    return this.turn;
  }
  get done(): boolean {
    return this.phase === 'done';
  }
  /** Aborted when the microphone must stop: the gateway ended listening (final arrived) or the turn is over. */
  get listeningSignal(): AbortSignal {
    return this.listening.signal;
  }
  /** True when the gateway ended the turn before the device released (auto mode, turn_too_long): no `listen stop` then. */
  get endedByGateway(): boolean {
    return this.listeningEndedByGateway;
  }

  /** The button is released (`listen stop` / `listen detect` about to be sent); starts waiting for the gateway. */
  released(micFrames: number): void {
    if (this.done) return;
    this.micFrames = micFrames;
    this.releasedAt = this.finalAt ?? this.options.now();
    if (this.options.kind === 'typed') return this.afterRelease();
    if (this.final !== null) return this.afterFinal();
    if (this.ttsStarted) return this.enterSpeaking();
    this.phase = 'awaiting_final';
    const { finalMs, errorSettleMs } = this.options.timeouts;
    if (this.errorSeen) this.setDeadline(errorSettleMs, () => this.finish('error'));
    else this.setDeadline(finalMs, () => this.timeout(`no stt final within ${finalMs} ms of release`));
  }

  /** A validated gateway message; ignores those of other turns. */
  onMessage(message: GatewayMessage): void {
    if (this.done || (message.type !== 'stt' && message.type !== 'tts')) return;
    if (!this.ownsTurn(message.turn)) return;
    if (message.type === 'stt') {
      if (!message.final) {
        this.partials.push(message.text);
        return;
      }
      if (this.final !== null) return this.issue('unexpected', 'a second stt final for the turn');
      this.final = message.text;
      this.finalAt = this.options.now();
      if (this.phase === 'streaming') {
        this.listeningEndedByGateway = true;
        this.listening.abort();
      } else if (this.phase === 'awaiting_final' || this.phase === 'awaiting_reply') {
        this.afterFinal();
      }
      return;
    }
    switch (message.state) {
      case 'start':
        this.ttsStarted = true;
        this.enterSpeaking();
        return;
      case 'sentence_start':
        this.sentences.push(message.text);
        if (this.phase === 'speaking') this.refreshIdle();
        return;
      case 'stop':
        this.stopAt = this.options.now();
        clearTimeout(this.abortTimer);
        this.stopReason = message.reason;
        // MQTT: the last QoS 0 reply frames may still be behind this QoS 1 message.
        if (this.options.transport === 'mqtt' && this.options.timeouts.mqttReplyTailMs > 0) {
          this.phase = 'tail';
          this.setDeadline(this.options.timeouts.mqttReplyTailMs, () => this.finish(message.reason));
        } else {
          this.finish(message.reason);
        }
    }
  }

  /** A reply packet; returns false when it does not belong to this turn (stray). */
  onAudio(packet: Uint8Array, header: ReplyFrameHeader | undefined): boolean {
    if (this.done || this.phase === 'streaming') return false;
    if (header) {
      if (!this.ownsTurn(header.turn)) return false;
      if (this.nextSeq !== undefined && header.seq !== this.nextSeq) this.replySeqGaps += 1;
      this.nextSeq = (header.seq + 1) & 0xffff;
    } else if (!this.ttsStarted || this.stopAt !== undefined) {
      return false; // WebSocket keeps order: reply audio belongs between tts start and tts stop
    }
    const now = this.options.now();
    this.replyPackets += 1;
    if (this.firstAudioAt === undefined) {
      this.firstAudioAt = now;
      this.scheduleAbort();
    }
    if (this.abortSentAt !== undefined) {
      this.audioPacketsAfterAbort += 1;
      this.lastAudioAfterAbortAt = now;
    }
    try {
      this.decoder ??= createReplyDecoder(this.options.reply.format, this.options.reply.sampleRate);
      this.audio.push(this.decoder.decode(packet));
    } catch (error) {
      this.issue('invalid_audio', `reply packet ${this.replyPackets}: ${(error as Error).message}`);
    }
    if (this.phase === 'speaking') this.refreshIdle();
    return true;
  }

  /** A protocol issue that concerns this turn (recorded by the device). */
  addIssue(issue: ProtocolIssue): void {
    if (this.done) return;
    this.errors.push(issue);
    if (issue.kind !== 'gateway_error') return;
    this.errorSeen = true;
    // After an error, the turn's closing messages may never come: wait a little, not the full limit.
    if (this.phase === 'awaiting_final' || this.phase === 'awaiting_reply') {
      this.setDeadline(this.options.timeouts.errorSettleMs, () => this.finish('error'));
    }
  }

  /** Ends the turn now (connection lost or device closed). */
  abandon(): void {
    this.finish('disconnected');
  }

  private ownsTurn(turn: number): boolean {
    if (this.turn !== undefined) return turn === this.turn;
    // A typed turn adopts the first turn id the gateway uses after the text was sent.
    if (this.releasedAt === undefined || turn === this.options.staleTurn) return false;
    this.turn = turn;
    return true;
  }

  private afterRelease(): void {
    // Typed turn: the reply (or a final echo of the text) is next.
    this.phase = 'awaiting_reply';
    const { replyStartMs } = this.options.timeouts;
    this.setDeadline(replyStartMs, () => this.timeout(`no reply within ${replyStartMs} ms of the typed text`));
  }

  private afterFinal(): void {
    if (this.ttsStarted) return this.enterSpeaking(); // MQTT reordering or a typed turn: the reply is already under way
    this.phase = 'awaiting_reply';
    const { replyStartMs, emptyFinalGraceMs, errorSettleMs } = this.options.timeouts;
    if (this.final === '') this.setDeadline(emptyFinalGraceMs, () => this.finish('no_reply'));
    else if (this.errorSeen) this.setDeadline(errorSettleMs, () => this.finish('error'));
    else this.setDeadline(replyStartMs, () => this.timeout(`no tts start within ${replyStartMs} ms of the final transcript`));
  }

  private enterSpeaking(): void {
    // Streaming: release() decides; aborting/tail: their own deadline stands.
    if (this.phase === 'streaming' || this.phase === 'aborting' || this.phase === 'tail' || this.phase === 'done') return;
    this.phase = 'speaking';
    this.refreshIdle();
  }

  private refreshIdle(): void {
    const { replyIdleMs } = this.options.timeouts;
    this.setDeadline(replyIdleMs, () => this.timeout(`reply went silent for ${replyIdleMs} ms without tts stop`));
  }

  private scheduleAbort(): void {
    const after = this.options.abortAfterMs;
    if (after === undefined) return;
    this.abortTimer = setTimeout(() => {
      if (this.done || this.stopAt !== undefined) return;
      this.abortSentAt = this.options.now();
      this.phase = 'aborting';
      const { abortStopMs } = this.options.timeouts;
      this.setDeadline(abortStopMs, () => this.timeout(`no tts stop within ${abortStopMs} ms of abort`));
      this.options.sendAbort();
    }, after);
  }

  private setDeadline(ms: number, onExpire: () => void): void {
    clearTimeout(this.deadline);
    this.deadline = setTimeout(onExpire, ms);
  }

  private issue(kind: ProtocolIssueKind, message: string): void {
    this.options.reportIssue(kind, message, this.turn);
  }

  private timeout(message: string): void {
    this.issue('timeout', message);
    this.finish('timeout');
  }

  private finish(reason: TurnStopReason): void {
    if (this.done) return;
    this.phase = 'done';
    clearTimeout(this.deadline);
    clearTimeout(this.abortTimer);
    this.listening.abort();
    this.decoder?.close();
    const endedAt = this.stopAt ?? this.options.now();
    const since = (from: number | undefined, to: number | undefined) => (from === undefined || to === undefined ? null : to - from);
    this.resolveResult({
      kind: this.options.kind,
      turn: this.turn ?? null,
      partials: this.partials,
      final: this.final,
      sentences: this.sentences,
      replyAudio: { samples: this.audio.join(), sampleRate: this.options.reply.sampleRate, packets: this.replyPackets },
      stopReason: this.stopReason ?? reason,
      errors: this.errors,
      micFrames: this.micFrames,
      abortSent: this.abortSentAt !== undefined,
      audioPacketsAfterAbort: this.audioPacketsAfterAbort,
      replySeqGaps: this.replySeqGaps,
      timings: {
        streamMs: this.options.kind === 'audio' ? since(this.startedAt, this.releasedAt) : null,
        releaseToFinalMs: since(this.releasedAt, this.finalAt),
        releaseToFirstAudioMs: since(this.releasedAt, this.firstAudioAt),
        totalMs: endedAt - this.startedAt,
        abortToStopMs: since(this.abortSentAt, this.stopAt),
        abortToLastAudioMs: this.abortSentAt === undefined ? null : (this.lastAudioAfterAbortAt ?? this.abortSentAt) - this.abortSentAt,
      },
    });
  }
}
