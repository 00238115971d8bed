/**
 * espeak-ng as a TTS provider: the voice that needs no download (Debian/Ubuntu package
 * espeak-ng), so a fresh install can always speak. Each sentence is one espeak-ng process
 * (`espeak-ng --stdout`, text on stdin), started and read by a small host process of the
 * provider's own (espeak-host.ts): neither the fork nor the WAV decoding happens in the
 * gateway, and forking from the small host costs ~2 ms where forking the gateway cost up to
 * 45 ms. At most `maxConcurrent` run at once; the rest wait in order. Aborting kills the
 * process (or drops the queued request). A host that dies is started again.
 */
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { Logger } from '../logger.ts';
import type { z } from 'zod';
import type { EspeakSchema } from './speech-config.ts';
import { ProviderError, type ProviderHealth } from '../providers.ts';
import type { SynthesisOptions, SynthesizedAudio, TtsProvider, TtsVoice } from './types.ts';
import type { EspeakHostEvent, EspeakHostRequest } from './espeak-protocol.ts';
import { forkModule, siblingModuleUrl } from './workers/speech-worker.ts';

export type EspeakSettings = z.infer<typeof EspeakSchema>;

/** espeak-ng's output rate. */
export const ESPEAK_SAMPLE_RATE = 22050;
/** espeak-ng accepts 80–450 words per minute; outside that it clamps or garbles. */
const MIN_WPM = 80;
const MAX_WPM = 450;
/** The voice list at start-up is quick; this only catches a wedged binary. */
const VOICE_LIST_TIMEOUT_MS = 10_000;
/** A host that died is started again after this pause (a crash loop must not spin the CPU). */
export const ESPEAK_HOST_RESTART_DELAY_MS = 1_000;
const INSTALL_HINT = 'apt-get install espeak-ng espeak-ng-data';
const HOST_MODULE = siblingModuleUrl(import.meta.url, 'espeak-host');

type State = { kind: 'idle' | 'ready' | 'restarting' | 'closed' } | { kind: 'unavailable'; error: ProviderError };

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
  private host?: ChildProcess;
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

  /** Starts the host, which lists the voices (proving the binary and its data work). Never throws. */
  async start(): Promise<void> {
    try {
      const voiceList = await this.startHost();
      this.voiceList = parseVoiceList(voiceList);
      if (!this.voiceList.some((v) => v.id === this.settings.voice)) {
        this.stopHost();
        throw new Error(`espeak-ng has no voice "${this.settings.voice}"`);
      }
      if (this.state.kind === 'closed') return this.stopHost();
      this.state = { kind: 'ready' };
      this.logger.info({ voice: this.settings.voice, voices: this.voiceList.length, maxConcurrent: this.settings.maxConcurrent }, 'espeak-ng TTS ready');
    } catch (err) {
      const message = `espeak-ng unavailable: ${(err as Error).message}`;
      this.state = { kind: 'unavailable', error: new ProviderError(message, false, 'unavailable', { cause: err }) };
      this.logger.debug({ err: message }, 'espeak-ng TTS unavailable');
    }
  }

  /** Starts the host process; resolves with its voice list once it is ready. */
  private startHost(): Promise<string> {
    const host = forkModule(HOST_MODULE, [this.settings.binary, String(VOICE_LIST_TIMEOUT_MS), ...this.baseArgs()]);
    this.host = host;
    return new Promise<string>((resolve, reject) => {
      let ready = false;
      host.on('message', (event: EspeakHostEvent) => {
        if (event.type === 'ready') {
          ready = true;
          resolve(event.voiceList);
        } else if (event.type === 'init-error') reject(new Error(event.message));
        else this.onEvent(event);
      });
      host.on('error', (err) => {
        if (!ready) reject(err);
      });
      host.on('exit', (code, signal) => {
        if (!ready) reject(new Error(`the espeak-ng host exited (${signal ?? code})`));
        else this.onHostExit(host, `${signal ?? code}`);
      });
    });
  }

  private stopHost(): void {
    const host = this.host;
    this.host = undefined;
    if (host?.connected) host.disconnect(); // the host kills what runs and exits
  }

  private onEvent(event: Extract<EspeakHostEvent, { id: number }>): void {
    const job = this.running.get(event.id);
    this.running.delete(event.id);
    if (job) {
      job.signal.removeEventListener('abort', job.onAbort);
      if (event.type === 'audio') job.resolve({ samples: event.samples, sampleRate: event.sampleRate });
      else job.reject(new ProviderError(event.message, event.reason === 'timeout', event.reason));
    }
    this.pump();
  }

  /** The host only ends when asked; one that died is started again (its sentences fail, retryable: a fallback voice may speak them). */
  private onHostExit(host: ChildProcess, why: string): void {
    if (host !== this.host) return;
    this.host = undefined;
    const failure = new ProviderError(`espeak-ng host died (${why})`, true, 'unavailable');
    for (const job of [...this.running.values(), ...this.queue.splice(0)]) job.reject(failure);
    this.running.clear();
    if (this.state.kind !== 'ready') return;
    this.state = { kind: 'restarting' };
    this.logger.error({ why }, 'espeak-ng host died; starting it again');
    setTimeout(() => {
      if (this.state.kind !== 'restarting') return;
      this.startHost().then(
        () => {
          if (this.state.kind === 'restarting') this.state = { kind: 'ready' };
          else this.stopHost();
        },
        (err: unknown) => {
          this.state = { kind: 'unavailable', error: new ProviderError(`espeak-ng unavailable: ${(err as Error).message}`, false, 'unavailable') };
        },
      );
    }, ESPEAK_HOST_RESTART_DELAY_MS).unref();
  }

  /** Starts queued sentences while fewer than `maxConcurrent` run. */
  private pump(): void {
    while (this.running.size < this.settings.maxConcurrent && this.queue.length > 0 && this.host?.connected) {
      const job = this.queue.shift()!;
      this.running.set(job.id, job);
      const request: EspeakHostRequest = { type: 'synthesize', id: job.id, args: job.args, text: job.text, timeoutMs: this.settings.timeoutMs };
      this.host.send(request);
    }
  }

  health(): ProviderHealth {
    const s = this.state;
    if (s.kind === 'unavailable') return { name: this.name, ready: false, detail: s.error.message, install: INSTALL_HINT };
    if (s.kind !== 'ready') return { name: this.name, ready: false, detail: s.kind };
    return { name: this.name, ready: true, detail: `voice ${this.settings.voice}, ${this.running.size} running, ${this.queue.length} queued` };
  }

  /** The host's process id (where espeak-ng runs), while it runs. */
  get hostPid(): number | undefined {
    return this.host?.pid;
  }

  voices(): TtsVoice[] {
    return this.state.kind === 'ready' ? this.voiceList : [];
  }

  synthesize(text: string, options: SynthesisOptions): Promise<SynthesizedAudio> {
    const s = this.state;
    if (s.kind === 'unavailable') return Promise.reject(s.error);
    if (s.kind !== 'ready') return Promise.reject(new ProviderError(`espeak-ng is ${s.kind}`, s.kind === 'restarting', 'unavailable'));
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
          if (this.running.has(job.id) && this.host?.connected) this.host.send({ type: 'cancel', id: job.id } satisfies EspeakHostRequest);
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
    const host = this.host;
    this.stopHost();
    if (host && host.exitCode === null && host.signalCode === null) await new Promise((resolve) => host.once('exit', resolve));
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
