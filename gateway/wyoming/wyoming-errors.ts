/**
 * What a Wyoming request can fail with. The connection answers `error{text, code}`
 * (wyoming/error.py; Home Assistant treats it as a failed request) and then closes, so a
 * client that does not know `error` stops waiting too.
 */
export type WyomingErrorCode =
  /** Too many transcriptions/syntheses at once: try again shortly. */
  | 'busy'
  /** The speech engines are still loading. */
  | 'not_ready'
  | 'stt_unavailable'
  | 'tts_unavailable'
  /** Malformed framing or event data. */
  | 'bad_request'
  | 'bad_audio'
  | 'audio_too_long'
  | 'text_too_long'
  | 'unknown_model'
  | 'unknown_voice'
  | 'internal';

export class WyomingRequestError extends Error {
  override name = 'WyomingRequestError';

  constructor(
    readonly code: WyomingErrorCode,
    message: string,
  ) {
    super(message);
  }
}
