/**
 * What every outside engine has in common, whatever room it serves: speech (STT, TTS, VAD),
 * language (LLMs) and Home Assistant's conversation agent report their health the same way
 * and fail with the same error, so fallbacks, /health and the session treat them alike.
 */

/** What health reports for one provider. */
export interface ProviderHealth {
  name: string;
  ready: boolean;
  /** Why it is not ready, or what it is doing instead (e.g. "fallback to groq"). */
  detail?: string;
  /** The command that installs what is missing, when something is. */
  install?: string;
}

/** An engine failure. `retryable` says whether trying again (or the next provider) may help. */
export class ProviderError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly reason: 'missing_model' | 'unavailable' | 'failed' | 'timeout' | 'aborted' = 'failed',
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ProviderError';
  }
}
