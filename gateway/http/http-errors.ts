/**
 * The HTTP API's error catalogue: every error answer is `{"error":{"code","message"}}` with
 * one of these codes (the device protocol's codes where the meaning is the same) and its
 * status. OpenAI's clients read `error.message` and `error.code` from the same shape.
 */

export const HTTP_ERRORS = {
  bad_request: 400,
  empty_text: 400,
  unknown_voice: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  request_timeout: 408,
  payload_too_large: 413,
  text_too_long: 413,
  unsupported_media_type: 415,
  /** The upload is not audio the gateway can decode (device protocol code). */
  unsupported_audio: 415,
  rate_limited: 429,
  internal: 500,
  /** Too many speech jobs at once (device protocol code). */
  busy: 503,
  stt_unavailable: 503,
  tts_unavailable: 503,
} as const;

export type HttpErrorCode = keyof typeof HTTP_ERRORS;

export class HttpError extends Error {
  override name = 'HttpError';
  readonly status: number;

  constructor(
    readonly code: HttpErrorCode,
    message: string,
    /** Extra response headers (Retry-After, Allow, WWW-Authenticate). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.status = HTTP_ERRORS[code];
  }
}

export function errorBody(code: HttpErrorCode | string, message: string): { error: { code: string; message: string } } {
  return { error: { code, message } };
}
