/**
 * One turn's stream on a sherpa STT worker (sherpa-stt.ts opens them): audio is copied and
 * transferred to the pinned worker, at most STT_WINDOW_MS unacknowledged at a time; the rest
 * waits here, coalesced into fewer messages and bounded by `maxQueuedSamples`. `finish()` fails
 * when the worker shows no progress for `finishTimeoutMs`.
 */
import { concatFloat32 } from '../../../audio/pcm16.ts';
import { ProviderError } from '../../providers.ts';
import { STT_SAMPLE_RATE, type SttStream, type SttStreamOptions } from '../types.ts';
import type { SpeechWorker } from '../workers/speech-worker.ts';
import type { SttStreamStats, SttWorkerEvent, SttWorkerRequest } from './stt-protocol.ts';

/** Audio of one stream a worker holds at a time: enough to keep it busy between acknowledgements. */
export const STT_WINDOW_MS = 2_000;
/** A worker acknowledges a stream's audio every this much (each acknowledgement costs the event loop a message). */
export const STT_ACK_EVERY_MS = 250;
/** Longer pushes (a whole clip at once) are cut into pieces of this much, so no message holds more than the window. */
const MAX_PIECE_MS = 500;

export const msToSamples = (ms: number) => Math.round((ms / 1000) * STT_SAMPLE_RATE);

type Worker = SpeechWorker<SttWorkerRequest, SttWorkerEvent>;

export interface SherpaStreamLimits {
  endsTurns: boolean;
  /** Audio the stream keeps waiting for its worker at most. */
  maxQueuedSamples: number;
  finishTimeoutMs: number;
  /** Forgets the stream in the provider. */
  release: () => void;
  /** The finish timed out (the provider checks whether the whole worker is stuck). */
  stalled: () => void;
}

export class SherpaSttStream implements SttStream {
  readonly endsTurns: boolean;
  private settled = false;
  private readonly result: Promise<{ text: string }>;
  private finishing?: Promise<{ text: string }>;
  private finishPosted = false;
  private resolveFinish!: (value: { text: string }) => void;
  private rejectFinish!: (error: ProviderError) => void;
  private failure?: ProviderError;
  private readonly waiting: Float32Array[] = [];
  private waitingSamples = 0;
  private sent = 0;
  private acked = 0;
  private lastAckAsked = 0;
  private finishTimer?: NodeJS.Timeout;
  private drainWaiters: Array<() => void> = [];
  /** Filled when the final arrives. */
  stats?: SttStreamStats;

  constructor(
    private readonly id: number,
    private readonly worker: Worker,
    private readonly options: SttStreamOptions,
    private readonly limits: SherpaStreamLimits,
  ) {
    this.endsTurns = limits.endsTurns;
    const promise = new Promise<{ text: string }>((resolve, reject) => {
      this.resolveFinish = resolve;
      this.rejectFinish = reject;
    });
    promise.catch(() => {}); // observed through finish(); never an unhandled rejection
    this.result = promise;
    options.signal.addEventListener('abort', this.onAbort, { once: true });
  }

  private readonly onAbort = () => {
    if (this.settled) return;
    this.worker.post({ type: 'abort', id: this.id });
    this.limits.release();
    this.reject(new ProviderError('STT stream aborted', false, 'aborted'));
  };

  /** Samples given to the worker and not yet acknowledged. */
  get inFlightSamples(): number {
    return this.sent - this.acked;
  }

  /** Samples waiting in this stream for room at the worker. */
  get queuedSamples(): number {
    return this.waitingSamples;
  }

  push(samples: Float32Array): void {
    if (this.settled || this.finishing || samples.length === 0) return;
    if (this.waitingSamples + samples.length > this.limits.maxQueuedSamples) {
      this.giveUp(`sherpa STT is ${Math.round((this.waitingSamples + this.inFlightSamples) / STT_SAMPLE_RATE)} s of audio behind (its worker is overloaded or stuck)`);
      return;
    }
    const piece = msToSamples(MAX_PIECE_MS);
    for (let at = 0; at < samples.length; at += piece) this.waiting.push(samples.slice(at, at + piece));
    this.waitingSamples += samples.length;
    this.send();
  }

  /** Resolves once all audio pushed so far is with the worker (or the stream has ended): producers faster than real time wait here. */
  drain(): Promise<void> {
    if (this.waiting.length === 0 || this.settled) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private wakeDrainWaiters(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const wake of waiters) wake();
  }

  /** Hands waiting audio to the worker while it has room; then the finish, once all audio is with it. */
  private send(): void {
    const window = msToSamples(STT_WINDOW_MS);
    // Pieces are at most MAX_PIECE_MS, well under the window: the worker never holds more than the window.
    while (this.waiting.length > 0 && this.inFlightSamples + this.waiting[0]!.length <= window) {
      const room = window - this.inFlightSamples;
      let take = 0;
      let count = 0;
      while (count < this.waiting.length && take + this.waiting[count]!.length <= room) take += this.waiting[count++]!.length;
      const pieces = this.waiting.splice(0, count);
      const samples = pieces.length === 1 ? pieces[0]! : concatFloat32(pieces);
      this.waitingSamples -= samples.length;
      this.sent += samples.length;
      const askAck = this.sent - this.lastAckAsked >= msToSamples(STT_ACK_EVERY_MS) || this.waiting.length > 0;
      if (askAck) this.lastAckAsked = this.sent;
      this.worker.post({ type: 'audio', id: this.id, samples, ...(askAck ? { ack: this.sent } : {}) }, [samples.buffer as ArrayBuffer]);
    }
    if (this.waiting.length > 0) return;
    this.wakeDrainWaiters();
    if (this.finishing && !this.finishPosted && !this.settled) {
      this.finishPosted = true;
      this.worker.post({ type: 'finish', id: this.id });
    }
  }

  finish(): Promise<{ text: string }> {
    if (!this.finishing) {
      this.finishing = this.result;
      if (!this.settled) {
        this.send();
        this.armFinishTimer();
      }
    }
    return this.finishing;
  }

  /** Fails the finish when the worker shows no progress for `finishTimeoutMs` (re-armed by each acknowledgement). */
  private armFinishTimer(): void {
    clearTimeout(this.finishTimer);
    if (this.settled) return;
    this.finishTimer = setTimeout(() => {
      this.limits.stalled();
      this.giveUp(`sherpa STT gave no final within ${this.limits.finishTimeoutMs} ms (its worker is stuck)`);
    }, this.limits.finishTimeoutMs);
  }

  private giveUp(message: string): void {
    if (this.settled) return;
    this.worker.post({ type: 'abort', id: this.id });
    this.limits.release();
    this.reject(new ProviderError(message, true, 'timeout'));
  }

  /** @internal from the provider: the worker has decoded the stream's audio through `samples`. */
  acknowledged(samples: number): void {
    if (this.settled) return;
    this.acked = Math.max(this.acked, samples);
    if (this.finishing) this.armFinishTimer();
    this.send();
  }

  /** @internal */
  turnEnded(): void {
    if (!this.settled && !this.options.signal.aborted && this.endsTurns) this.options.onTurnEnd?.();
  }

  /** @internal from the provider */
  partial(text: string): void {
    if (!this.settled && !this.options.signal.aborted) this.options.onPartial?.(text);
  }

  /** @internal */
  resolve(text: string, stats: SttStreamStats): void {
    if (this.settled) return;
    this.settle();
    this.stats = stats;
    this.resolveFinish({ text });
  }

  /** @internal */
  reject(error: ProviderError): void {
    if (this.settled) return;
    this.settle();
    this.failure = error;
    this.rejectFinish(error);
  }

  private settle(): void {
    this.settled = true;
    clearTimeout(this.finishTimer);
    this.waiting.length = 0;
    this.waitingSamples = 0;
    this.wakeDrainWaiters();
    this.options.signal.removeEventListener('abort', this.onAbort);
  }

  /** Set when the stream failed before finishing (the fallback composition watches this). */
  get error(): ProviderError | undefined {
    return this.failure;
  }
}
