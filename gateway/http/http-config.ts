/**
 * Limits of the HTTP API, each a named constant with its reason, and the `http` section of
 * the gateway config that overrides them (wired into config.ts). Pure (zod only).
 */
import { z } from 'zod';

/** JSON bodies carry at most a text to speak: 64 KiB holds the longest allowed text many times over. */
export const MAX_JSON_BODY_BYTES = 64 * 1024;
/** OpenAI's own limit for transcription uploads; clients written for it never send more. */
export const MAX_UPLOAD_BYTES = 25 * 1024 * 1024;
/** Transcription is for clips: longer audio would hold a recognizer that devices share for minutes. */
export const MAX_TRANSCRIBE_AUDIO_SECONDS = 300;
/** OpenAI's limit for `input` of /v1/audio/speech. */
export const MAX_SPEECH_TEXT_CHARS = 4096;
/** Requests per minute per API key (burst: the same number): generous for tools, a wall for runaway loops. */
export const RATE_LIMIT_PER_MINUTE = 120;
/** Speech jobs (transcribe/synthesize) the HTTP API runs at once; more get `busy`, so devices keep their engines. */
export const MAX_CONCURRENT_SPEECH_JOBS = 4;
/** A converter (sox/ffmpeg) that takes longer than this on one upload is killed. */
export const AUDIO_DECODE_TIMEOUT_MS = 30_000;
/** A request body that does not arrive within this is abandoned (slow-loris uploads). */
export const BODY_TIMEOUT_MS = 60_000;
/** A client that has not sent its request headers within this is cut off (slow-loris headers). */
export const HEADERS_TIMEOUT_MS = 30_000;
/**
 * The whole request (headers and body) must arrive within this, whatever route it is for: the
 * headers' and the body's limits with room to spare. Responses (streamed speech) and WebSocket
 * connections are not bounded by it.
 */
export const REQUEST_TIMEOUT_MS = 120_000;

const positiveInt = z.coerce.number().int().positive();

export const HttpSchema = z.object({
  maxJsonBodyBytes: positiveInt.default(MAX_JSON_BODY_BYTES),
  maxUploadBytes: positiveInt.default(MAX_UPLOAD_BYTES),
  maxTranscribeAudioSeconds: positiveInt.default(MAX_TRANSCRIBE_AUDIO_SECONDS),
  maxSpeechTextChars: positiveInt.default(MAX_SPEECH_TEXT_CHARS),
  rateLimitPerMinute: positiveInt.default(RATE_LIMIT_PER_MINUTE),
  maxConcurrentSpeechJobs: positiveInt.default(MAX_CONCURRENT_SPEECH_JOBS),
  audioDecodeTimeoutMs: positiveInt.default(AUDIO_DECODE_TIMEOUT_MS),
  bodyTimeoutMs: positiveInt.default(BODY_TIMEOUT_MS),
  headersTimeoutMs: positiveInt.default(HEADERS_TIMEOUT_MS),
  requestTimeoutMs: positiveInt.default(REQUEST_TIMEOUT_MS),
  /**
   * Who may read /metrics: `loopback` (default: a Prometheus on this machine), `apikey`
   * (loopback, or anyone with an API key) or `open` (anyone who can reach the port).
   */
  metricsAccess: z.enum(['loopback', 'apikey', 'open']).default('loopback'),
});
export type HttpConfig = z.infer<typeof HttpSchema>;

export const HTTP_ENV_VARS: Record<string, string> = {
  VOXGATE_HTTP_MAX_UPLOAD_BYTES: 'http.maxUploadBytes',
  VOXGATE_HTTP_MAX_TRANSCRIBE_SECONDS: 'http.maxTranscribeAudioSeconds',
  VOXGATE_HTTP_MAX_TEXT_CHARS: 'http.maxSpeechTextChars',
  VOXGATE_HTTP_RATE_LIMIT_PER_MINUTE: 'http.rateLimitPerMinute',
  VOXGATE_HTTP_MAX_SPEECH_JOBS: 'http.maxConcurrentSpeechJobs',
  VOXGATE_METRICS_ACCESS: 'http.metricsAccess',
  VOXGATE_HTTP_REQUEST_TIMEOUT_MS: 'http.requestTimeoutMs',
};
