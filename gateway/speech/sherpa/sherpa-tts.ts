/**
 * Text-to-speech with sherpa-onnx OfflineTts (piper/VITS, matcha, kokoro), generated in a
 * pool of worker threads: each worker generates one sentence at a time, the others wait
 * in a FIFO queue. An aborted request leaves the queue at once (a running generation
 * cannot be interrupted natively; its result is dropped).
 */
import type { Logger } from '../../logger.ts';
import { ModelMissingError } from '../models/model-errors.ts';
import { ProviderError, type ProviderHealth } from '../../providers.ts';
import type { SynthesisOptions, SynthesizedAudio, TtsProvider, TtsVoice } from '../types.ts';
import { SpeechWorker, siblingModuleUrl } from '../workers/speech-worker.ts';
import { probeModel } from './model-probe.ts';
import type { TtsWorkerData, TtsWorkerEvent, TtsWorkerRequest } from './tts-protocol.ts';
import { resolveTtsModel, type ResolvedTtsModel, type SherpaTtsSettings } from './tts-model.ts';

/** A worker that died is replaced after this pause (a crash loop must not spin the CPU). */
export const TTS_WORKER_RESPAWN_DELAY_MS = 1_000;
/** Multi-speaker voices list at most this many speakers in voices() (some have hundreds). */
const MAX_LISTED_SPEAKERS = 16;

const WORKER_MODULE = siblingModuleUrl(import.meta.url, 'tts-worker');

export interface SherpaTtsOptions {
  settings: SherpaTtsSettings;
  modelsDir: string;
  /** espeak-ng data directory for voices that do not ship one. */
  espeakDataDir?: string;
  modelLoadTimeoutMs: number;
  logger: Logger;
}

type Worker = SpeechWorker<TtsWorkerRequest, TtsWorkerEvent>;

interface Job {
  id: number;
  text: string;
  sid: number;
  speed: number;
  signal: AbortSignal;
  resolve: (audio: SynthesizedAudio) => void;
  reject: (error: ProviderError) => void;
  onAbort: () => void;
}

interface Slot {
  index: number;
  worker?: Worker;
  job?: Job;
}

type State = { kind: 'idle' | 'loading' | 'ready' | 'closed' } | { kind: 'unavailable'; error: ProviderError; install?: string };

export class SherpaTtsProvider implements TtsProvider {
  readonly name = 'sherpa';
  private state: State = { kind: 'idle' };
  private model?: ResolvedTtsModel;
  private slots: Slot[] = [];
  private queue: Job[] = [];
  private nextId = 1;
  private sampleRate = 0;
  private numSpeakers = 1;
  /** Generation time of the last sentence, for health and benchmarks. */
  lastGenerateMs = 0;

  constructor(private readonly options: SherpaTtsOptions) {}

  async start(): Promise<void> {
    const { settings, logger } = this.options;
    this.state = { kind: 'loading' };
    try {
      this.model = resolveTtsModel(settings, this.options.modelsDir, this.options.espeakDataDir);
      await probeModel({ kind: 'tts', config: this.model.config }, this.options.modelLoadTimeoutMs).catch((err) => {
        throw new ProviderError(`TTS voice ${this.model!.label} is broken: ${(err as Error).message}`, false, 'failed');
      });
      this.slots = Array.from({ length: settings.workers }, (_, index) => ({ index }));
      await Promise.all(this.slots.map((slot) => this.spawn(slot)));
      if (this.state.kind === 'loading') this.state = { kind: 'ready' };
      logger.info({ voice: this.model.label, type: this.model.type, sampleRate: this.sampleRate, workers: settings.workers }, 'sherpa TTS ready');
    } catch (err) {
      const error =
        err instanceof ProviderError ? err : new ProviderError(`sherpa TTS failed to start: ${(err as Error).message}`, false, 'failed', { cause: err });
      this.state = { kind: 'unavailable', error, install: err instanceof ModelMissingError ? err.install : undefined };
      await Promise.all(this.slots.map((slot) => slot.worker?.stop()));
      logger.debug({ err: error.message }, 'sherpa TTS unavailable');
    }
  }

  private async spawn(slot: Slot): Promise<void> {
    const data: TtsWorkerData = { tts: this.model!.config };
    const worker = await SpeechWorker.start<TtsWorkerRequest, TtsWorkerEvent>(WORKER_MODULE, data, `voxgate-tts-${slot.index}`);
    if (this.state.kind === 'closed') {
      await worker.stop();
      return;
    }
    this.sampleRate = Number(worker.readyInfo.sampleRate);
    this.numSpeakers = Number(worker.readyInfo.numSpeakers) || 1;
    slot.worker = worker;
    worker.onMessage((event) => this.onEvent(slot, event));
    worker.onExit((error) => this.onWorkerExit(slot, worker, error));
    this.pump();
  }

  private onEvent(slot: Slot, event: TtsWorkerEvent): void {
    const job = slot.job;
    slot.job = undefined;
    if (job && job.id === event.id) {
      job.signal.removeEventListener('abort', job.onAbort);
      if (event.type === 'audio') {
        this.lastGenerateMs = event.generateMs;
        job.resolve({ samples: event.samples, sampleRate: event.sampleRate });
      } else job.reject(new ProviderError(`sherpa TTS: ${event.message}`, true, 'failed'));
    }
    this.pump();
  }

  private onWorkerExit(slot: Slot, worker: Worker, error: Error): void {
    if (slot.worker !== worker) return;
    slot.worker = undefined;
    const job = slot.job;
    slot.job = undefined;
    job?.reject(new ProviderError(`sherpa TTS worker died: ${error.message}`, true, 'failed', { cause: error }));
    if (this.state.kind !== 'ready') return;
    this.options.logger.error({ err: error.message, worker: slot.index }, 'sherpa TTS worker died');
    setTimeout(() => {
      if (this.state.kind !== 'ready') return;
      this.spawn(slot).catch((err) => this.options.logger.error({ err: (err as Error).message }, 'sherpa TTS worker respawn failed'));
    }, TTS_WORKER_RESPAWN_DELAY_MS).unref();
  }

  /** Hands queued jobs to idle workers. */
  private pump(): void {
    for (const slot of this.slots) {
      if (!slot.worker?.alive || slot.job) continue;
      const job = this.queue.shift();
      if (!job) return;
      slot.job = job;
      slot.worker.post({ type: 'generate', id: job.id, text: job.text, sid: job.sid, speed: job.speed });
    }
  }

  health(): ProviderHealth {
    const s = this.state;
    if (s.kind === 'unavailable') return { name: this.name, ready: false, detail: s.error.message, install: s.install };
    if (s.kind !== 'ready') return { name: this.name, ready: false, detail: s.kind === 'closed' ? 'closed' : 'loading voice' };
    const live = this.slots.filter((slot) => slot.worker?.alive).length;
    return {
      name: this.name,
      ready: live > 0,
      detail: `${this.model!.label} (${this.model!.type}, ${this.sampleRate} Hz), ${live}/${this.slots.length} workers, ${this.queue.length} queued`,
    };
  }

  voices(): TtsVoice[] {
    if (this.state.kind !== 'ready' || !this.model) return [];
    const base = { provider: this.name, sampleRate: this.sampleRate, language: undefined };
    if (this.numSpeakers <= 1 || this.numSpeakers > MAX_LISTED_SPEAKERS) return [{ id: this.model.label, ...base }];
    return Array.from({ length: this.numSpeakers }, (_, sid) => ({ id: `${this.model!.label}:${sid}`, ...base }));
  }

  /** `voice`: unset or the voice's name (configured speaker), `<name>:<sid>` or `<sid>`. */
  private speakerFor(voice: string | undefined): number {
    const label = this.model!.label;
    if (voice === undefined || voice === label) return this.options.settings.speakerId;
    const match = /^(?:(.*):)?(\d+)$/.exec(voice);
    if (match && (match[1] === undefined || match[1] === label)) {
      const sid = Number(match[2]);
      if (sid < this.numSpeakers) return sid;
    }
    throw new ProviderError(`sherpa TTS has no voice "${voice}" (it has ${label}${this.numSpeakers > 1 ? `:0..${this.numSpeakers - 1}` : ''})`, false, 'failed');
  }

  synthesize(text: string, options: SynthesisOptions): Promise<SynthesizedAudio> {
    const s = this.state;
    if (s.kind === 'unavailable') return Promise.reject(s.error);
    if (s.kind !== 'ready') return Promise.reject(new ProviderError(`sherpa TTS is ${s.kind === 'closed' ? 'closed' : 'still loading'}`, true, 'unavailable'));
    if (options.signal.aborted) return Promise.reject(new ProviderError('synthesis aborted', false, 'aborted'));
    let sid: number;
    try {
      sid = this.speakerFor(options.voice);
    } catch (err) {
      return Promise.reject(err);
    }
    if (text.trim() === '') return Promise.resolve({ samples: new Float32Array(0), sampleRate: this.sampleRate });
    return new Promise<SynthesizedAudio>((resolve, reject) => {
      const job: Job = {
        id: this.nextId++,
        text,
        sid,
        speed: options.speed ?? this.options.settings.speed,
        signal: options.signal,
        resolve,
        reject,
        onAbort: () => {
          this.queue = this.queue.filter((queued) => queued !== job);
          // A running job's worker stays busy until generate returns; its result is then ignored.
          for (const slot of this.slots) if (slot.job === job) slot.job = { ...job, id: -1 };
          reject(new ProviderError('synthesis aborted', false, 'aborted'));
        },
      };
      options.signal.addEventListener('abort', job.onAbort, { once: true });
      this.queue.push(job);
      this.pump();
    });
  }

  async close(): Promise<void> {
    this.state = { kind: 'closed' };
    for (const job of this.queue.splice(0)) job.reject(new ProviderError('sherpa TTS closed', false, 'unavailable'));
    for (const slot of this.slots) slot.job?.reject(new ProviderError('sherpa TTS closed', false, 'unavailable'));
    await Promise.all(this.slots.map((slot) => slot.worker?.stop()));
  }
}
