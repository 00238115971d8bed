/**
 * espeak-ng as a TTS provider: the voice that needs no download (Debian/Ubuntu package
 * espeak-ng), so a fresh install can always speak. Each sentence is one child process
 * (`espeak-ng --stdout`, text on stdin), started and read by a worker thread
 * (espeak-worker.ts) so that neither the fork nor the WAV decoding blocks the event loop.
 * At most `maxConcurrent` run at once; the rest wait in order. Aborting kills the process
 * (or drops the queued request).
 */
import path from 'node:path';
import type { Logger } from '../logger.ts';
import type { z } from 'zod';
import type { EspeakSchema } from './speech-config.ts';
import { ProviderError, type ProviderHealth } from '../providers.ts';
import type { SynthesisOptions, SynthesizedAudio, TtsProvider, TtsVoice } from './types.ts';
import type { EspeakReady, EspeakWorkerData, EspeakWorkerEvent, EspeakWorkerRequest } from './espeak-protocol.ts';
import { SpeechWorker, siblingModuleUrl } from './workers/speech-worker.ts';

export type EspeakSettings = z.infer<typeof EspeakSchema>;

/** espeak-ng's output rate. */
export const ESPEAK_SAMPLE_RATE = 22050;
/** espeak-ng accepts 80–450 words per minute; outside that it clamps or garbles. */
const MIN_WPM = 80;
const MAX_WPM = 450;
/** The voice list at start-up is quick; this only catches a wedged binary. */
const VOICE_LIST_TIMEOUT_MS = 10_000;
const INSTALL_HINT = 'apt-get install espeak-ng espeak-ng-data';
const WORKER_MODULE = siblingModuleUrl(import.meta.url, 'espeak-worker');

type State = { kind: 'idle' | 'ready' | 'closed' } | { kind: 'unavailable'; error: ProviderError };

interface Job {
  id: number;
  args: string[];
  text: string;
  signal: AbortSignal;
  resolve: (audio: SynthesizedAudio) => void;
  reject: (error: ProviderError) => void;
  onAbort: () => void;
}

export class EspeakTtsProvider implements TtsProvider {
  readonly name = 'espeak';
  private state: State = { kind: 'idle' };
  private voiceList: TtsVoice[] = [];
  private worker?: SpeechWorker<EspeakWorkerRequest, EspeakWorkerEvent>;
  private readonly running = new Map<number, Job>();
  private queue: Job[] = [];
  private nextId = 1;

  constructor(
    private readonly settings: EspeakSettings,
    private readonly logger: Logger,
  ) {}

  /** espeak-ng's --path wants the directory that holds espeak-ng-data. */
  private baseArgs(): string[] {
    const dataDir = this.settings.dataDir;
    return dataDir ? [`--path=${path.dirname(path.resolve(dataDir))}`] : [];
  }

  /** Starts the worker, which lists the voices (proving the binary and its data work). Never throws. */
  async start(): Promise<void> {
    try {
      const data: EspeakWorkerData = { binary: this.settings.binary, baseArgs: this.baseArgs(), voiceListTimeoutMs: VOICE_LIST_TIMEOUT_MS };
      const worker = await SpeechWorker.start<EspeakWorkerRequest, EspeakWorkerEvent>(WORKER_MODULE, data, 'voxgate-espeak');
      this.voiceList = parseVoiceList((worker.readyInfo as unknown as EspeakReady).voiceList);
      if (!this.voiceList.some((v) => v.id === this.settings.voice)) {
        await worker.stop();
        throw new Error(`espeak-ng has no voice "${this.settings.voice}"`);
      }
      if (this.state.kind === 'closed') return void (await worker.stop());
      this.worker = worker;
      worker.onMessage((event) => this.onEvent(event));
      worker.onExit((error) => this.onWorkerExit(error));
      this.state = { kind: 'ready' };
      this.logger.info({ voice: this.settings.voice, voices: this.voiceList.length, maxConcurrent: this.settings.maxConcurrent }, 'espeak-ng TTS ready');
    } catch (err) {
      const message = `espeak-ng unavailable: ${(err as Error).message}`;
      this.state = { kind: 'unavailable', error: new ProviderError(message, false, 'unavailable', { cause: err }) };
      this.logger.debug({ err: message }, 'espeak-ng TTS unavailable');
    }
  }

  private onEvent(event: EspeakWorkerEvent): void {
    const job = this.running.get(event.id);
    this.running.delete(event.id);
    if (job) {
      job.signal.removeEventListener('abort', job.onAbort);
      if (event.type === 'audio') job.resolve({ samples: event.samples, sampleRate: event.sampleRate });
      else job.reject(new ProviderError(event.message, event.reason === 'timeout', event.reason));
    }
    this.pump();
  }

  /** The worker only ends when asked; if it died anyway, espeak-ng is gone for this process. */
  private onWorkerExit(error: Error): void {
    const failure = new ProviderError(`espeak-ng worker died: ${error.message}`, false, 'unavailable', { cause: error });
    for (const job of [...this.running.values(), ...this.queue.splice(0)]) job.reject(failure);
    this.running.clear();
    if (this.state.kind === 'closed') return;
    this.state = { kind: 'unavailable', error: failure };
    this.logger.error({ err: error.message }, 'espeak-ng worker died');
  }

  /** Starts queued sentences while fewer than `maxConcurrent` run. */
  private pump(): void {
    while (this.running.size < this.settings.maxConcurrent && this.queue.length > 0) {
      const job = this.queue.shift()!;
      this.running.set(job.id, job);
      this.worker!.post({ type: 'synthesize', id: job.id, args: job.args, text: job.text, timeoutMs: this.settings.timeoutMs });
    }
  }

  health(): ProviderHealth {
    const s = this.state;
    if (s.kind === 'unavailable') return { name: this.name, ready: false, detail: s.error.message, install: INSTALL_HINT };
    if (s.kind !== 'ready') return { name: this.name, ready: false, detail: s.kind };
    return { name: this.name, ready: true, detail: `voice ${this.settings.voice}, ${this.running.size} running, ${this.queue.length} queued` };
  }

  voices(): TtsVoice[] {
    return this.state.kind === 'ready' ? this.voiceList : [];
  }

  synthesize(text: string, options: SynthesisOptions): Promise<SynthesizedAudio> {
    const s = this.state;
    if (s.kind === 'unavailable') return Promise.reject(s.error);
    if (s.kind !== 'ready') return Promise.reject(new ProviderError(`espeak-ng is ${s.kind}`, false, 'unavailable'));
    if (options.signal.aborted) return Promise.reject(new ProviderError('synthesis aborted', false, 'aborted'));
    const voice = options.voice ?? this.settings.voice;
    if (!this.voiceList.some((v) => v.id === voice)) {
      return Promise.reject(new ProviderError(`espeak-ng has no voice "${voice}"`, false, 'failed'));
    }
    if (text.trim() === '') return Promise.resolve({ samples: new Float32Array(0), sampleRate: ESPEAK_SAMPLE_RATE });
    const speed = options.speed ?? 1;
    const wpm = Math.min(MAX_WPM, Math.max(MIN_WPM, Math.round(this.settings.wordsPerMinute * speed)));
    return new Promise<SynthesizedAudio>((resolve, reject) => {
      const job: Job = {
        id: this.nextId++,
        args: ['--stdout', '-v', voice, '-s', String(wpm)],
        text,
        signal: options.signal,
        resolve,
        reject,
        onAbort: () => {
          this.queue = this.queue.filter((queued) => queued !== job);
          // A running one is killed; its answer (aborted) then frees the slot.
          if (this.running.has(job.id)) this.worker?.post({ type: 'cancel', id: job.id });
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
    const closed = new ProviderError('espeak-ng closed', false, 'unavailable');
    for (const job of [...this.running.values(), ...this.queue.splice(0)]) job.reject(closed);
    this.running.clear();
    await this.worker?.stop();
  }
}

/** `espeak-ng --voices` → one entry per voice, id = its language code (what -v accepts). */
export function parseVoiceList(stdout: string): TtsVoice[] {
  const voices: TtsVoice[] = [];
  for (const line of stdout.split('\n').slice(1)) {
    const columns = line.trim().split(/\s+/);
    const language = columns[1];
    if (!language) continue;
    voices.push({ id: language, provider: 'espeak', language, sampleRate: ESPEAK_SAMPLE_RATE });
  }
  return voices;
}
