/**
 * Streaming speech-to-text with sherpa-onnx, decoded in a pool of worker threads (one
 * recognizer each); every stream is pinned to the least busy worker for its whole turn.
 * The event loop only copies audio into messages.
 *
 * Backpressure: a worker holds at most STT_WINDOW_MS of a stream's audio at a time (it
 * acknowledges what it has decoded); the rest waits in the stream, bounded by `maxQueuedMs`.
 * A stream whose worker shows no progress for `finishTimeoutMs` after `finish()` fails
 * (retryable: the next provider may take the turn), and a worker that stuck is replaced.
 *
 * `start()` never throws: a missing or broken model leaves the provider unavailable, with
 * health saying why and which command installs it. A worker that dies fails its own
 * streams (retryable) and is replaced.
 */
import { existsSync } from 'node:fs';
import type { Logger } from '../../logger.ts';
import { ModelMissingError } from '../models/model-errors.ts';
import { ProviderError, type ProviderHealth } from '../../providers.ts';
import { concatFloat32 } from '../../../audio/pcm16.ts';
import { STT_SAMPLE_RATE, type SttProvider, type SttStream, type SttStreamOptions } from '../types.ts';
import { sileroVadConfig, type VadSettings } from '../vad/silero-config.ts';
import { SpeechWorker, siblingModuleUrl } from '../workers/speech-worker.ts';
import { probeBatchedDecode, probeModel } from './model-probe.ts';
import type { SttStreamStats, SttWorkerData, SttWorkerEvent, SttWorkerRequest } from './stt-protocol.ts';
import { recognizerConfig, resolveSttModel, type ResolvedSttModel, type SherpaSttSettings } from './stt-model.ts';

/** A worker that died is replaced after this pause (a crash loop must not spin the CPU). */
export const WORKER_RESPAWN_DELAY_MS = 1_000;
/** After this many deaths in a row without a stream finishing, the provider gives up. */
export const MAX_WORKER_RESPAWNS = 5;
/** Audio of one stream a worker holds at a time: enough to keep it busy between acknowledgements. */
export const STT_WINDOW_MS = 2_000;
/** A worker acknowledges a stream's audio every this much (each acknowledgement costs the event loop a message). */
export const STT_ACK_EVERY_MS = 250;
/** Longer pushes (a whole clip at once) are cut into pieces of this much, so no message holds more than the window. */
const MAX_PIECE_MS = 500;

const WORKER_MODULE = siblingModuleUrl(import.meta.url, 'stt-worker');
const msToSamples = (ms: number) => Math.round((ms / 1000) * STT_SAMPLE_RATE);

export interface SherpaSttOptions {
  settings: SherpaSttSettings;
  modelsDir: string;
  /** Silero settings for the gate; the gate is off when absent or its model is missing. */
  vad?: VadSettings;
  modelLoadTimeoutMs: number;
  logger: Logger;
  /** The worker module (tests start stand-ins that misbehave as a real worker can: stuck in a native call). */
  workerModule?: URL;
}

type Worker = SpeechWorker<SttWorkerRequest, SttWorkerEvent>;

interface Slot {
  index: number;
  worker?: Worker;
  streams: Set<number>;
  /** When its worker last said anything (monotonic ms): a worker silent past the finish timeout is stuck. */
  lastHeard: number;
}

interface Pending {
  slot: Slot;
  stream: SherpaSttStream;
}

type State = { kind: 'idle' | 'loading' | 'ready' | 'closed' } | { kind: 'unavailable'; error: ProviderError; install?: string };

export class SherpaSttProvider implements SttProvider {
  readonly name = 'sherpa';
  readonly capabilities = { streaming: true, partials: true };
  private state: State = { kind: 'idle' };
  private model?: ResolvedSttModel;
  private workerData?: SttWorkerData;
  private slots: Slot[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private respawns = 0;
  private gateNote = '';
  private batchNote = '';

  constructor(private readonly options: SherpaSttOptions) {}

  /** Resolves the model, test-loads it in a probe process, then starts the workers. */
  async start(): Promise<void> {
    const { settings, logger } = this.options;
    this.state = { kind: 'loading' };
    try {
      this.model = resolveSttModel(settings, this.options.modelsDir);
      const recognizer = recognizerConfig(this.model, settings);
      const [, batch] = await Promise.all([
        probeModel({ kind: 'online-asr', config: recognizer }, this.options.modelLoadTimeoutMs).catch((err) => {
          throw new ProviderError(`STT model ${this.model!.label} is broken: ${(err as Error).message}`, false, 'failed');
        }),
        probeBatchedDecode(recognizer, this.options.modelLoadTimeoutMs),
      ]);
      if (!batch) this.batchNote = 'one stream per decode call (the model cannot batch streams)';
      this.workerData = {
        recognizer,
        batch,
        tailPaddingSamples: Math.round((settings.tailPaddingMs / 1000) * STT_SAMPLE_RATE),
        ...this.vadConfig(),
      };
      this.slots = Array.from({ length: settings.workers }, (_, index) => ({ index, streams: new Set<number>(), lastHeard: performance.now() }));
      await Promise.all(this.slots.map((slot) => this.spawn(slot)));
      if (this.state.kind === 'loading') this.state = { kind: 'ready' };
      const gate = this.workerData.gatePrerollSamples !== undefined;
      logger.info({ model: this.model.label, type: this.model.type, workers: settings.workers, gate, endsTurns: !!this.workerData.vad, batch }, 'sherpa STT ready');
    } catch (err) {
      const error =
        err instanceof ProviderError ? err : new ProviderError(`sherpa STT failed to start: ${(err as Error).message}`, false, 'failed', { cause: err });
      this.state = { kind: 'unavailable', error, install: err instanceof ModelMissingError ? err.install : undefined };
      await this.stopWorkers();
      logger.debug({ err: error.message }, 'sherpa STT unavailable');
    }
  }

  /** Silero (when installed) for the gate and for ending `auto` turns; the gate only when configured. */
  private vadConfig(): Pick<SttWorkerData, 'vad' | 'gatePrerollSamples'> {
    const vad = this.options.vad;
    if (!vad || !existsSync(vad.model)) {
      if (this.options.settings.gate) this.gateNote = 'VAD gate off (no Silero model: voxgate models pull silero-vad)';
      return {};
    }
    if (!this.options.settings.gate) return { vad: sileroVadConfig(vad) };
    return { vad: sileroVadConfig(vad), gatePrerollSamples: msToSamples(this.options.settings.gatePrerollMs) };
  }

  private async spawn(slot: Slot): Promise<void> {
    const worker = await SpeechWorker.start<SttWorkerRequest, SttWorkerEvent>(
      this.options.workerModule ?? WORKER_MODULE,
      this.workerData,
      `voxgate-stt-${slot.index}`,
    );
    if (this.state.kind === 'closed') {
      await worker.stop();
      return;
    }
    slot.worker = worker;
    slot.lastHeard = performance.now();
    worker.onMessage((event) => {
      slot.lastHeard = performance.now();
      this.onEvent(event);
    });
    worker.onExit((error) => this.onWorkerExit(slot, worker, error));
  }

  private onEvent(event: SttWorkerEvent): void {
    const entry = this.pending.get(event.id);
    if (!entry) return;
    if (event.type === 'partial') entry.stream.partial(event.text);
    else if (event.type === 'ack') entry.stream.acknowledged(event.samples);
    else if (event.type === 'turn-end') entry.stream.turnEnded();
    else {
      this.forget(event.id);
      if (event.type === 'final') {
        this.respawns = 0;
        entry.stream.resolve(event.text, event.stats);
      } else entry.stream.reject(new ProviderError(`sherpa STT: ${event.message}`, true, 'failed'));
    }
  }

  private onWorkerExit(slot: Slot, worker: Worker, error: Error): void {
    if (slot.worker !== worker) return;
    slot.worker = undefined;
    for (const id of [...slot.streams]) {
      const entry = this.pending.get(id);
      this.forget(id);
      entry?.stream.reject(new ProviderError(`sherpa STT worker died: ${error.message}`, true, 'failed', { cause: error }));
    }
    if (this.state.kind !== 'ready') return;
    this.options.logger.error({ err: error.message, worker: slot.index }, 'sherpa STT worker died');
    if (++this.respawns > MAX_WORKER_RESPAWNS) {
      this.state = { kind: 'unavailable', error: new ProviderError(`sherpa STT workers keep dying: ${error.message}`, false, 'failed') };
      return;
    }
    setTimeout(() => {
      if (this.state.kind !== 'ready') return;
      this.spawn(slot).catch((err) => this.options.logger.error({ err: (err as Error).message }, 'sherpa STT worker respawn failed'));
    }, WORKER_RESPAWN_DELAY_MS).unref();
  }

  private forget(id: number): void {
    const entry = this.pending.get(id);
    if (!entry) return;
    this.pending.delete(id);
    entry.slot.streams.delete(id);
  }

  health(): ProviderHealth {
    const s = this.state;
    if (s.kind === 'unavailable') return { name: this.name, ready: false, detail: s.error.message, install: s.install };
    if (s.kind !== 'ready') return { name: this.name, ready: false, detail: s.kind === 'closed' ? 'closed' : 'loading model' };
    const live = this.slots.filter((slot) => slot.worker?.alive).length;
    const parts = [`${this.model!.label} (${this.model!.type}), ${live}/${this.slots.length} workers, ${this.pending.size} streams`];
    if (this.gateNote) parts.push(this.gateNote);
    if (this.batchNote) parts.push(this.batchNote);
    return { name: this.name, ready: live > 0, detail: parts.join('; ') };
  }

  /** Open streams per worker (for benchmarks and health). */
  load(): number[] {
    return this.slots.map((slot) => slot.streams.size);
  }

  createStream(options: SttStreamOptions): SttStream {
    if (this.state.kind === 'unavailable') throw this.state.error;
    if (this.state.kind !== 'ready') throw new ProviderError(`sherpa STT is ${this.state.kind === 'closed' ? 'closed' : 'still loading'}`, true, 'unavailable');
    if (options.signal.aborted) throw new ProviderError('aborted before the stream opened', false, 'aborted');
    const live = this.slots.filter((slot) => slot.worker?.alive);
    if (live.length === 0) throw new ProviderError('no sherpa STT worker is running (restarting)', true, 'unavailable');
    const slot = live.reduce((best, s) => (s.streams.size < best.streams.size ? s : best));
    const id = this.nextId++;
    const worker = slot.worker!;
    const { settings } = this.options;
    const endsTurns = options.onTurnEnd !== undefined && this.workerData?.vad !== undefined;
    const stream = new SherpaSttStream(id, worker, options, {
      endsTurns,
      maxQueuedSamples: msToSamples(settings.maxQueuedMs),
      finishTimeoutMs: settings.finishTimeoutMs,
      release: () => this.forget(id),
      stalled: () => this.stalled(slot, worker),
    });
    this.pending.set(id, { slot, stream });
    slot.streams.add(id);
    worker.post({ type: 'open', id, language: options.language, endsTurn: endsTurns });
    return stream;
  }

  /**
   * A stream's finish timed out. When its worker has said nothing at all for as long, it is
   * stuck (in a native call): asked to stop, abandoned if it cannot, and replaced.
   */
  private stalled(slot: Slot, worker: Worker): void {
    if (slot.worker !== worker || !worker.alive) return;
    const silentMs = performance.now() - slot.lastHeard;
    if (silentMs < this.options.settings.finishTimeoutMs) return;
    this.options.logger.error({ worker: slot.index, silentMs: Math.round(silentMs) }, 'sherpa STT worker is stuck; replacing it');
    void worker.stop();
  }

  private async stopWorkers(): Promise<void> {
    await Promise.all(this.slots.map((slot) => slot.worker?.stop()));
  }

  async close(): Promise<void> {
    this.state = { kind: 'closed' };
    for (const [id, entry] of [...this.pending]) {
      this.forget(id);
      entry.stream.reject(new ProviderError('sherpa STT closed', false, 'unavailable'));
    }
    await this.stopWorkers();
  }
}

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

/**
 * One turn's stream; audio is copied and transferred to the pinned worker, at most
 * STT_WINDOW_MS unacknowledged at a time; the rest waits here, coalesced into fewer messages.
 */
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
