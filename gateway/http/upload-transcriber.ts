/**
 * The shared path of both transcription endpoints, all inside the speech-job gate: a request
 * over the limit is refused (`busy`) before its body is read. Then read the multipart upload,
 * decode its audio to 16 kHz on a codec worker, run it through the recognizer, and measure
 * the real-time factor.
 */
import type { IncomingMessage } from 'node:http';
import type { SttProvider } from '../speech/types.ts';
import { decodeUploadedAudio, type AudioConverter, type AudioJobs } from './audio-decode.ts';
import type { HttpConfig } from './http-config.ts';
import { HttpError } from './http-errors.ts';
import type { GatewayMetrics } from './metrics.ts';
import { readMultipartForm } from './multipart.ts';
import type { SpeechJobGate } from './speech-jobs.ts';
import { transcribeClip } from './transcription.ts';

/** BCP 47-ish: "en", "de-CH", "zh_Hans" (what recognizers and Whisper accept). */
const LANGUAGE_PATTERN = /^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8}){0,3}$/;

export interface UploadTranscription {
  /** The form's text fields (model, response_format, …). */
  fields: Record<string, string>;
  text: string;
  /** The requested language; null when none was given (the recognizer's own). */
  language: string | null;
  durationSeconds: number;
  /** The recognizer that served (its provider list when in fallback order). */
  model: string;
}

export interface UploadTranscriberDeps {
  stt: SttProvider;
  config: HttpConfig;
  metrics: GatewayMetrics;
  gate: SpeechJobGate;
  /** Resolved once at startup (a probe); undefined means WAV only. */
  converter: Promise<AudioConverter | undefined>;
  /** Where decoding runs (the codec workers); inline when absent. */
  jobs?: AudioJobs;
}

/** `checkFields` may refuse the form's fields (throw an HttpError) before any audio work is done. */
export type UploadTranscriber = (
  req: IncomingMessage,
  signal: AbortSignal,
  checkFields?: (fields: Record<string, string>) => void,
) => Promise<UploadTranscription>;

export function createUploadTranscriber(deps: UploadTranscriberDeps): UploadTranscriber {
  // The gate first: an upload the gateway has no room for is not read (nor buffered) at all.
  return (req, signal, checkFields) =>
    deps.gate.run(async () => {
      const { fields, file } = await readMultipartForm(req, 'file', {
        maxBytes: deps.config.maxUploadBytes,
        timeoutMs: deps.config.bodyTimeoutMs,
      });
      checkFields?.(fields);
      const language = fields.language?.trim() || undefined;
      if (language !== undefined && !LANGUAGE_PATTERN.test(language)) {
        throw new HttpError('bad_request', `language ${JSON.stringify(language)} is not a language code such as "en" or "de"`);
      }
      const health = deps.stt.health();
      if (!health.ready) throw new HttpError('stt_unavailable', `speech recognition is not available: ${health.detail ?? 'not ready'}`);
      const audio = await decodeUploadedAudio(
        file.data,
        await deps.converter,
        {
          filename: file.filename,
          mimeType: file.mimeType,
          maxSeconds: deps.config.maxTranscribeAudioSeconds,
          timeoutMs: deps.config.audioDecodeTimeoutMs,
          signal,
        },
        deps.jobs,
      );
      const result = await transcribeClip(deps.stt, audio.samples, { language, signal });
      if (audio.durationSeconds > 0) deps.metrics.observeSttRealTimeFactor('http', result.elapsedMs / 1000 / audio.durationSeconds);
      return {
        fields,
        text: result.text,
        language: language ?? null,
        durationSeconds: Math.round(audio.durationSeconds * 1000) / 1000,
        model: deps.stt.name,
      };
    });
}
