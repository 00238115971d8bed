/**
 * The protocol's error codes (docs/protocol.md §3.3): one catalogue used by the gateway,
 * the simulator and the tests. An `error` message never closes the session by itself.
 */
export const ERROR_CODES = {
  bad_message: 'The message is not valid JSON or does not match the protocol.',
  not_ready: 'No hello yet: hello must be the first message.',
  unsupported_audio: 'The audio format, rate, frame or packet is not supported.',
  turn_too_long: 'The turn exceeded the maximum audio length and was ended.',
  rate_limited: 'Audio arrives faster than the allowed rate.',
  busy: 'The gateway cannot take this request now.',
  stt_unavailable: 'Speech recognition is unavailable.',
  llm_unavailable: 'The language model is unavailable.',
  tts_unavailable: 'Speech synthesis is unavailable.',
  internal: 'Internal gateway error.',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export const ERROR_CODE_LIST = Object.keys(ERROR_CODES) as ErrorCode[];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}

/** An error that carries its protocol code, so any layer can throw it and the session reports it as is. */
export class ProtocolError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string = ERROR_CODES[code],
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}
