/**
 * Groq Whisper (cloud) as an STT provider. Not streaming: the turn's audio is kept and,
 * on finish, uploaded as a 16 kHz mono 16-bit WAV. groq-sdk retries 408/409/429/5xx and
 * connection failures with backoff (up to `maxRetries`) and gives each attempt `timeoutMs`.
 */
import Groq, { APIConnectionTimeoutError, APIError, APIUserAbortError, toFile } from 'groq-sdk';
import type { Logger } from '../logger.ts';
import type { z } from 'zod';
import type { WhisperSchema } from './speech-config.ts';
import { ProviderError, type ProviderHealth } from '../providers.ts';
import { STT_SAMPLE_RATE, type SttProvider, type SttStream, type SttStreamOptions } from './types.ts';
import { encodeWavPcm16 } from '../../audio/wav.ts';

/** Whisper's upload limit is 25 MB on the free tier; 16-bit 16 kHz is 32 kB/s, so cap turns well below. */
export const MAX_WHISPER_UPLOAD_SECONDS = 300;

export interface GroqWhisperOptions {
  apiKey?: string;
  baseUrl?: string;
  model: string;
  settings: z.infer<typeof WhisperSchema>;
  logger: Logger;
}

export class GroqWhisperSttProvider implements SttProvider {
  readonly name = 'groq';
  readonly capabilities = { streaming: false, partials: false };
  private readonly client?: Groq;
  private lastError?: string;

  constructor(private readonly options: GroqWhisperOptions) {
    if (options.apiKey) {
      this.client = new Groq({
        apiKey: options.apiKey,
        baseURL: options.baseUrl,
        timeout: options.settings.timeoutMs,
        maxRetries: options.settings.maxRetries,
      });
    }
  }

  health(): ProviderHealth {
    if (!this.client) return { name: this.name, ready: false, detail: 'GROQ_API_KEY is not set', install: 'set GROQ_API_KEY (https://console.groq.com/keys)' };
    return { name: this.name, ready: true, detail: `${this.options.model}${this.lastError ? ` (last error: ${this.lastError})` : ''}` };
  }

  createStream(options: SttStreamOptions): SttStream {
    if (!this.client) throw new ProviderError('Groq Whisper needs GROQ_API_KEY', false, 'unavailable');
    if (options.signal.aborted) throw new ProviderError('aborted before the stream opened', false, 'aborted');
    return new WhisperStream(this, this.client, options);
  }

  /** @internal */
  async transcribe(client: Groq, audio: Float32Array, options: SttStreamOptions): Promise<{ text: string }> {
    if (audio.length === 0) return { text: '' };
    const wav = encodeWavPcm16(audio, STT_SAMPLE_RATE);
    try {
      const result = await client.audio.transcriptions.create(
        {
          file: await toFile(wav, 'turn.wav', { type: 'audio/wav' }),
          model: this.options.model,
          language: options.language,
          response_format: 'json',
          temperature: 0,
        },
        { signal: options.signal },
      );
      this.lastError = undefined;
      return { text: (result.text ?? '').trim() };
    } catch (err) {
      throw this.toProviderError(err, options.signal);
    }
  }

  private toProviderError(err: unknown, signal: AbortSignal): ProviderError {
    if (signal.aborted || err instanceof APIUserAbortError) return new ProviderError('Groq transcription aborted', false, 'aborted', { cause: err });
    const message = err instanceof Error ? err.message : String(err);
    this.lastError = message;
    this.options.logger.warn({ err: message }, 'Groq Whisper transcription failed');
    if (err instanceof APIError && err.status !== undefined) {
      const status = err.status;
      const retryable = status === 408 || status === 409 || status === 429 || status >= 500;
      return new ProviderError(`Groq Whisper: HTTP ${status}: ${message}`, retryable, status === 408 ? 'timeout' : 'failed', { cause: err });
    }
    const timedOut = err instanceof APIConnectionTimeoutError;
    return new ProviderError(`Groq Whisper: ${message}`, true, timedOut ? 'timeout' : 'unavailable', { cause: err });
  }
}

class WhisperStream implements SttStream {
  private readonly pieces: Float32Array[] = [];
  private samples = 0;
  private result?: Promise<{ text: string }>;

  constructor(
    private readonly provider: GroqWhisperSttProvider,
    private readonly client: Groq,
    private readonly options: SttStreamOptions,
  ) {}

  push(samples: Float32Array): void {
    if (this.result || this.samples + samples.length > MAX_WHISPER_UPLOAD_SECONDS * STT_SAMPLE_RATE) return;
    this.pieces.push(samples.slice());
    this.samples += samples.length;
  }

  finish(): Promise<{ text: string }> {
    if (!this.result) {
      const audio = new Float32Array(this.samples);
      let at = 0;
      for (const piece of this.pieces) {
        audio.set(piece, at);
        at += piece.length;
      }
      this.pieces.length = 0;
      this.result = this.options.signal.aborted
        ? Promise.reject(new ProviderError('Groq transcription aborted', false, 'aborted'))
        : this.provider.transcribe(this.client, audio, this.options);
    }
    return this.result;
  }
}
