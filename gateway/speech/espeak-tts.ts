/**
 * espeak-ng as a TTS provider: the voice that needs no download (Debian/Ubuntu package
 * espeak-ng), so a fresh install can always speak. Each sentence is one child process
 * (`espeak-ng --stdout`, text on stdin): it never blocks the event loop, and aborting
 * kills it.
 */
import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import type { Logger } from '../logger.ts';
import type { z } from 'zod';
import type { EspeakSchema } from './speech-config.ts';
import { ProviderError, type ProviderHealth } from '../providers.ts';
import type { SynthesisOptions, SynthesizedAudio, TtsProvider, TtsVoice } from './types.ts';
import { decodeWav } from '../../audio/wav.ts';

export type EspeakSettings = z.infer<typeof EspeakSchema>;

/** espeak-ng's output rate. */
export const ESPEAK_SAMPLE_RATE = 22050;
/** espeak-ng accepts 80–450 words per minute; outside that it clamps or garbles. */
const MIN_WPM = 80;
const MAX_WPM = 450;
/** The voice list at start-up is quick; this only catches a wedged binary. */
const VOICE_LIST_TIMEOUT_MS = 10_000;
const INSTALL_HINT = 'apt-get install espeak-ng espeak-ng-data';

type State = { kind: 'idle' | 'ready' | 'closed' } | { kind: 'unavailable'; error: ProviderError };

export class EspeakTtsProvider implements TtsProvider {
  readonly name = 'espeak';
  private state: State = { kind: 'idle' };
  private voiceList: TtsVoice[] = [];
  private readonly running = new Set<ReturnType<typeof spawn>>();

  constructor(
    private readonly settings: EspeakSettings,
    private readonly logger: Logger,
  ) {}

  /** espeak-ng's --path wants the directory that holds espeak-ng-data. */
  private baseArgs(): string[] {
    const dataDir = this.settings.dataDir;
    return dataDir ? [`--path=${path.dirname(path.resolve(dataDir))}`] : [];
  }

  /** Lists the voices (which also proves the binary and its data work). Never throws. */
  async start(): Promise<void> {
    try {
      const stdout = await new Promise<string>((resolve, reject) => {
        execFile(this.settings.binary, [...this.baseArgs(), '--voices'], { timeout: VOICE_LIST_TIMEOUT_MS }, (error, out, err) =>
          error ? reject(new Error(err.trim() || error.message)) : resolve(out),
        );
      });
      this.voiceList = parseVoiceList(stdout);
      if (!this.voiceList.some((v) => v.id === this.settings.voice)) {
        throw new Error(`espeak-ng has no voice "${this.settings.voice}"`);
      }
      this.state = { kind: 'ready' };
      this.logger.info({ voice: this.settings.voice, voices: this.voiceList.length }, 'espeak-ng TTS ready');
    } catch (err) {
      const message = `espeak-ng unavailable: ${(err as Error).message}`;
      this.state = { kind: 'unavailable', error: new ProviderError(message, false, 'unavailable', { cause: err }) };
      this.logger.debug({ err: message }, 'espeak-ng TTS unavailable');
    }
  }

  health(): ProviderHealth {
    const s = this.state;
    if (s.kind === 'unavailable') return { name: this.name, ready: false, detail: s.error.message, install: INSTALL_HINT };
    if (s.kind !== 'ready') return { name: this.name, ready: false, detail: s.kind };
    return { name: this.name, ready: true, detail: `voice ${this.settings.voice}, ${this.running.size} running` };
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
    const args = [...this.baseArgs(), '--stdout', '-v', voice, '-s', String(wpm)];

    return new Promise<SynthesizedAudio>((resolve, reject) => {
      const child = spawn(this.settings.binary, args, { stdio: ['pipe', 'pipe', 'pipe'] });
      this.running.add(child);
      const chunks: Buffer[] = [];
      let stderr = '';
      let failure: ProviderError | undefined;
      const stop = (error: ProviderError) => {
        failure ??= error;
        child.kill('SIGKILL');
      };
      const onAbort = () => stop(new ProviderError('synthesis aborted', false, 'aborted'));
      const timer = setTimeout(
        () => stop(new ProviderError(`espeak-ng took longer than ${this.settings.timeoutMs} ms`, true, 'timeout')),
        this.settings.timeoutMs,
      );
      options.signal.addEventListener('abort', onAbort, { once: true });
      child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('error', (err) => stop(new ProviderError(`espeak-ng could not run: ${err.message}`, false, 'unavailable', { cause: err })));
      child.on('close', (code) => {
        clearTimeout(timer);
        options.signal.removeEventListener('abort', onAbort);
        this.running.delete(child);
        if (failure) return reject(failure);
        if (code !== 0) return reject(new ProviderError(`espeak-ng failed (exit ${code}): ${stderr.trim()}`, false, 'failed'));
        try {
          const wav = decodeWav(Buffer.concat(chunks));
          resolve({ samples: wav.samples, sampleRate: wav.sampleRate });
        } catch (err) {
          reject(new ProviderError(`espeak-ng output unreadable: ${(err as Error).message}`, false, 'failed'));
        }
      });
      // Text on stdin: no argument parsing surprises for text that starts with "-".
      child.stdin.on('error', () => {}); // the child may exit before reading all (killed); close reports why
      child.stdin.end(text);
    });
  }

  async close(): Promise<void> {
    this.state = { kind: 'closed' };
    for (const child of this.running) child.kill('SIGKILL');
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
