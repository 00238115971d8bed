/**
 * OpenAI-compatible speech endpoints (API key as the OpenAI key), so any OpenAI SDK can use
 * the gateway as its speech server:
 *   POST /v1/audio/transcriptions  multipart file, model (any; the gateway's recognizer
 *        serves), language, response_format json | text | verbose_json
 *   POST /v1/audio/speech          {model (any), input, voice, response_format wav | pcm, speed}
 *        wav: a whole WAV file at the voice's rate; pcm: raw 16-bit LE mono at 24 kHz
 *        (OpenAI's pcm), streamed sentence by sentence. No response_format: wav.
 */
import type { Logger } from '../logger.ts';
import type { TtsProvider } from '../speech/types.ts';
import { encodeWavPcm16, pcm16Bytes } from '../../audio/wav.ts';
import { requestSignal, type ApiGuard } from './api-guard.ts';
import type { AudioJobs } from './audio-decode.ts';
import type { HttpConfig } from './http-config.ts';
import { HttpError } from './http-errors.ts';
import { sendJson, type HttpServer } from './http-server.ts';
import { readJsonObject } from './request-body.ts';
import type { SpeechJobGate } from './speech-jobs.ts';
import { parseSpeechRequest, resampleWith, synthesizeSentences, synthesizeText } from './synthesis.ts';
import type { UploadTranscriber } from './upload-transcriber.ts';

/** OpenAI's `pcm` format: 24 kHz, 16-bit signed little-endian, mono. */
export const OPENAI_PCM_RATE = 24_000;
const TRANSCRIPTION_FORMATS = ['json', 'text', 'verbose_json'] as const;
const SPEECH_FORMATS = ['wav', 'pcm'] as const;

export interface OpenAiRouteDeps {
  tts: TtsProvider;
  guard: ApiGuard;
  gate: SpeechJobGate;
  transcribe: UploadTranscriber;
  config: HttpConfig;
  logger: Logger;
  /** Where synthesized audio is resampled (the codec workers); inline when absent. */
  jobs?: Pick<AudioJobs, 'resample'>;
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], fallback: T, field: string): T {
  if (value === undefined || value === null || value === '') return fallback;
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new HttpError('bad_request', `${field} must be one of ${allowed.join(', ')} (got ${JSON.stringify(value)})`);
}

export function registerOpenAiRoutes(http: HttpServer, deps: OpenAiRouteDeps): void {
  const { tts, guard, gate, config } = deps;

  http.route('POST', '/v1/audio/transcriptions', async (req, res) => {
    guard.apiKey(req);
    let format = 'json' as (typeof TRANSCRIPTION_FORMATS)[number];
    const result = await deps.transcribe(req, requestSignal(res), (fields) => {
      format = oneOf(fields.response_format, TRANSCRIPTION_FORMATS, 'json', 'response_format');
    });
    if (format === 'text') {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      res.end(result.text);
      return;
    }
    if (format === 'json') return sendJson(res, 200, { text: result.text });
    sendJson(res, 200, {
      task: 'transcribe',
      language: result.language ?? 'unknown',
      duration: result.durationSeconds,
      text: result.text,
      model: result.model,
    });
  });

  http.route('POST', '/v1/audio/speech', async (req, res) => {
    guard.apiKey(req);
    const body = await readJsonObject(req, { maxBytes: config.maxJsonBodyBytes, timeoutMs: config.bodyTimeoutMs });
    const format = oneOf(body.response_format, SPEECH_FORMATS, 'wav', 'response_format');
    if (body.stream_format !== undefined && body.stream_format !== 'audio') {
      throw new HttpError('bad_request', 'stream_format must be "audio" (server-sent events are not offered)');
    }
    const request = parseSpeechRequest({ text: body.input, voice: body.voice, speed: body.speed }, tts, config.maxSpeechTextChars);
    const signal = requestSignal(res);

    if (format === 'wav') {
      const audio = await gate.run(() => synthesizeText(tts, request, signal, deps.jobs));
      const wav = encodeWavPcm16(audio.samples, audio.sampleRate);
      res.writeHead(200, { 'content-type': 'audio/wav', 'content-length': wav.length, 'cache-control': 'no-store' });
      res.end(wav);
      return;
    }

    await gate.run(async () => {
      try {
        for await (const part of synthesizeSentences(tts, request, signal, deps.jobs)) {
          const samples = await resampleWith(deps.jobs, part.samples, part.sampleRate, OPENAI_PCM_RATE);
          if (!res.headersSent) {
            res.writeHead(200, { 'content-type': 'audio/pcm', 'cache-control': 'no-store', 'x-sample-rate': String(OPENAI_PCM_RATE) });
          }
          res.write(pcm16Bytes(samples));
        }
        res.end();
      } catch (err) {
        if (!res.headersSent) throw err;
        if (!signal.aborted) deps.logger.warn({ err: (err as Error).message, route: 'speech' }, 'pcm stream failed after it started');
        res.destroy();
      }
    });
  });
}
