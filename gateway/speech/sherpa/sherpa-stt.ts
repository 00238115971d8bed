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
import { STT_SAMPLE_RATE, type SttProvider, type SttStream, type SttStreamOptions } from '../types.ts';
import { sileroVadConfig, type VadSettings } from '../vad/silero-config.ts';
import { SpeechWorker, siblingModuleUrl } from '../workers/speech-worker.ts';
import { probeBatchedDecode, probeModel } from './model-probe.ts';
import type { SttWorkerData, SttWorkerEvent, SttWorkerRequest } from './stt-protocol.ts';
import { msToSamples, SherpaSttStream } from './stt-stream.ts';
import { recognizerConfig, resolveSttModel, type ResolvedSttModel, type SherpaSttSettings } from './stt-model.ts';

/** A worker that died is replaced after this pause (a crash loop must not spin the CPU). */
export const WORKER_RESPAWN_DELAY_MS = 1_000;
/** After this many deaths in a row without a stream finishing, the provider gives up. */
export const MAX_WORKER_RESPAWNS = 5;

const WORKER_MODULE = siblingModuleUrl(import.meta.url, 'stt-worker');

export { SherpaSttStream, STT_ACK_EVERY_MS, STT_WINDOW_MS, type SherpaStreamLimits } from './stt-stream.ts';

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
