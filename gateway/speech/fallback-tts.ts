/**
 * A list of TTS providers as one (VOXGATE_TTS=sherpa,espeak): each sentence goes to the
 * first ready provider; if it fails (not aborted), the next one speaks it. The default
 * list ends with espeak-ng, so a fresh install without any voice model can still speak.
 */
import { fallbackHealth } from './fallback-health.ts';
import type { Logger } from '../logger.ts';
import { ProviderError, type ProviderHealth } from '../providers.ts';
import type { SynthesisOptions, SynthesizedAudio, TtsProvider, TtsVoice } from './types.ts';
import type { FallbackNote } from './fallback-stt.ts';

export class FallbackTtsProvider implements TtsProvider {
  readonly name: string;
  lastFallback?: FallbackNote;

  constructor(
    readonly providers: readonly TtsProvider[],
    private readonly logger: Logger,
  ) {
    if (providers.length === 0) throw new Error('FallbackTtsProvider needs at least one provider');
    this.name = providers.map((p) => p.name).join(',');
  }

  health(): ProviderHealth {
    return fallbackHealth('tts', this.providers, this.lastFallback && { ...this.lastFallback, what: 'last fallback' });
  }

  voices(): TtsVoice[] {
    return this.providers.flatMap((p) => p.voices());
  }

  async synthesize(text: string, options: SynthesisOptions): Promise<SynthesizedAudio> {
    const errors: string[] = [];
    let previous: string | undefined;
    for (const provider of this.providers) {
      if (!provider.health().ready) {
        errors.push(`${provider.name}: ${provider.health().detail ?? 'not ready'}`);
        previous ??= provider.name;
        continue;
      }
      try {
        const audio = await provider.synthesize(text, options);
        if (previous && errors.length) this.lastFallback = { from: previous, to: provider.name, reason: errors[errors.length - 1]! };
        return audio;
      } catch (err) {
        if (options.signal.aborted || (err instanceof ProviderError && err.reason === 'aborted')) throw err;
        const reason = (err as Error).message;
        this.logger.warn({ provider: provider.name, err: reason }, 'TTS fallback: the next provider speaks this sentence');
        errors.push(`${provider.name}: ${reason}`);
        previous ??= provider.name;
      }
    }
    throw new ProviderError(`no TTS provider could speak (${errors.join('; ')})`, true, 'unavailable');
  }

  async close(): Promise<void> {
    await Promise.all(this.providers.map((p) => p.close?.()));
  }
}
