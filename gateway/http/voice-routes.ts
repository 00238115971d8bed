/**
 * The REST speech API (API key required):
 *   POST /api/voice/transcribe    multipart `file` (+ `language`) → {text, language, duration_seconds, model}
 *   POST /api/voice/synthesize    {text, voice?, speed?} → {audio_base64 (a WAV file), sample_rate, duration_seconds, voice, speed}
 *   POST /api/voice/audio-stream  {text, voice?, speed?} → audio/wav, sent sentence by sentence as it is synthesized
 *   GET  /api/voice/voices        → {voices: [{id, provider, language, sample_rate}]}
 */
import type { Logger } from '../logger.ts';
import type { TtsProvider } from '../speech/types.ts';
import { encodeWavPcm16, pcm16Bytes, streamingWavHeader } from '../../audio/wav.ts';
import { requestSignal, type ApiGuard } from './api-guard.ts';
import type { AudioJobs } from './audio-decode.ts';
import type { HttpConfig } from './http-config.ts';
import { HttpError } from './http-errors.ts';
import { sendJson, type HttpServer } from './http-server.ts';
import { readJsonObject } from './request-body.ts';
import type { SpeechJobGate } from './speech-jobs.ts';
import { parseSpeechRequest, synthesizeSentences, synthesizeText, type SpeechRequest } from './synthesis.ts';
import type { UploadTranscriber } from './upload-transcriber.ts';

export interface VoiceRouteDeps {
  tts: TtsProvider;
  guard: ApiGuard;
  gate: SpeechJobGate;
  transcribe: UploadTranscriber;
  config: HttpConfig;
  logger: Logger;
  /** Where synthesized audio is resampled (the codec workers); inline when absent. */
  jobs?: Pick<AudioJobs, 'resample'>;
}

export function registerVoiceRoutes(http: HttpServer, deps: VoiceRouteDeps): void {
  const { tts, guard, gate, config } = deps;
  const jsonLimits = { maxBytes: config.maxJsonBodyBytes, timeoutMs: config.bodyTimeoutMs };
  const speechRequest = async (req: Parameters<typeof readJsonObject>[0]): Promise<SpeechRequest> => {
    const body = await readJsonObject(req, jsonLimits);
    return parseSpeechRequest({ text: body.text, voice: body.voice, speed: body.speed }, tts, config.maxSpeechTextChars);
  };

  http.route('POST', '/api/voice/transcribe', async (req, res) => {
    guard.apiKey(req);
    const result = await deps.transcribe(req, requestSignal(res));
    sendJson(res, 200, { text: result.text, language: result.language, duration_seconds: result.durationSeconds, model: result.model });
  });

  http.route('POST', '/api/voice/synthesize', async (req, res) => {
    guard.apiKey(req);
    const request = await speechRequest(req);
    const audio = await gate.run(() => synthesizeText(tts, request, requestSignal(res), deps.jobs));
    sendJson(res, 200, {
      audio_base64: encodeWavPcm16(audio.samples, audio.sampleRate).toString('base64'),
      format: 'wav',
      sample_rate: audio.sampleRate,
      duration_seconds: Math.round((audio.samples.length / audio.sampleRate) * 1000) / 1000,
      voice: request.voice ?? null,
      speed: request.speed,
    });
  });

  http.route('POST', '/api/voice/audio-stream', async (req, res) => {
    guard.apiKey(req);
    const request = await speechRequest(req);
    const signal = requestSignal(res);
    await gate.run(async () => {
      const log = deps.logger.child({ route: 'audio-stream' });
      try {
        for await (const part of synthesizeSentences(tts, request, signal, deps.jobs)) {
          if (!res.headersSent) {
            // The header waits for the first sentence: its rate is the stream's rate.
            res.writeHead(200, { 'content-type': 'audio/wav', 'cache-control': 'no-store', 'x-sample-rate': String(part.sampleRate) });
            res.write(streamingWavHeader(part.sampleRate));
          }
          res.write(pcm16Bytes(part.samples));
        }
        res.end();
      } catch (err) {
        if (!res.headersSent) throw err;
        // Mid-stream there is no way to send an error: cut the stream so the client sees it end early.
        if (!signal.aborted) log.warn({ err: (err as Error).message }, 'audio stream failed after it started');
        res.destroy();
      }
    });
  });

  http.route('GET', '/api/voice/voices', (req, res) => {
    guard.apiKey(req);
    const voices = tts.voices().map((v) => ({ id: v.id, provider: v.provider, language: v.language ?? null, sample_rate: v.sampleRate }));
    if (voices.length === 0 && !tts.health().ready) throw new HttpError('tts_unavailable', `speech synthesis is not available: ${tts.health().detail ?? 'not ready'}`);
    sendJson(res, 200, { voices });
  });
}
