/**
 * A list of STT providers as one (VOXGATE_STT=sherpa,groq): each turn is served by the
 * first provider that can open a stream; if that stream fails before its final, the
 * turn's audio (kept meanwhile) is replayed into the next provider. Health says which
 * provider is serving and why the ones before it are not.
 */
import { fallbackHealth } from './fallback-health.ts';
import type { Logger } from '../logger.ts';
import { ProviderError, type ProviderHealth } from '../providers.ts';
import { STT_SAMPLE_RATE, type SttCapabilities, type SttProvider, type SttStream, type SttStreamOptions } from './types.ts';

/** Audio kept per turn for a replay (the protocol caps turns at 30 s by default). */
export const MAX_REPLAY_SECONDS = 120;

export interface FallbackNote {
  from: string;
  to: string;
  reason: string;
}

export class FallbackSttProvider implements SttProvider {
  readonly name: string;
  /** The last time a turn moved to a later provider mid-way. */
  lastFallback?: FallbackNote;

  constructor(
    readonly providers: readonly SttProvider[],
    private readonly logger: Logger,
  ) {
    if (providers.length === 0) throw new Error('FallbackSttProvider needs at least one provider');
    this.name = providers.map((p) => p.name).join(',');
  }

  /** The capabilities of the provider that would serve a turn now. */
  get capabilities(): SttCapabilities {
    return (this.providers.find((p) => p.health().ready) ?? this.providers[0]!).capabilities;
  }

  health(): ProviderHealth {
    return fallbackHealth('stt', this.providers, this.lastFallback && { ...this.lastFallback, what: 'last turn fallback' });
  }

  createStream(options: SttStreamOptions): SttStream {
    return new FallbackSttStream(this, options, this.logger);
  }

  /** Opens a stream on the first provider at or after `from` that accepts one. */
  open(from: number, options: SttStreamOptions, errors: string[]): { index: number; stream: SttStream } {
    for (let index = from; index < this.providers.length; index++) {
      const provider = this.providers[index]!;
      try {
        return { index, stream: provider.createStream(options) };
      } catch (err) {
        if (err instanceof ProviderError && err.reason === 'aborted') throw err;
        errors.push(`${provider.name}: ${(err as Error).message}`);
      }
    }
    throw new ProviderError(`no STT provider could take the turn (${errors.join('; ')})`, false, 'unavailable');
  }

  async close(): Promise<void> {
    await Promise.all(this.providers.map((p) => p.close?.()));
  }
}

class FallbackSttStream implements SttStream {
  private index: number;
  private stream: SttStream;
  private readonly kept: Float32Array[] = [];
  private keptSamples = 0;
  private replayable = true;
  private readonly errors: string[] = [];

  constructor(
    private readonly owner: FallbackSttProvider,
    private readonly options: SttStreamOptions,
    private readonly logger: Logger,
  ) {
    const opened = owner.open(0, options, this.errors);
    this.index = opened.index;
    this.stream = opened.stream;
  }

  get endsTurns(): boolean {
    return this.stream.endsTurns === true;
  }

  drain(): Promise<void> {
    return this.stream.drain?.() ?? Promise.resolve();
  }

  push(samples: Float32Array): void {
    if (this.replayable) {
      if (this.keptSamples + samples.length > MAX_REPLAY_SECONDS * STT_SAMPLE_RATE) {
        this.replayable = false;
        this.kept.length = 0;
      } else {
        this.kept.push(samples.slice());
        this.keptSamples += samples.length;
      }
    }
    this.stream.push(samples);
  }

  async finish(): Promise<{ text: string }> {
    for (;;) {
      try {
        return await this.stream.finish();
      } catch (err) {
        const failedName = this.owner.providers[this.index]!.name;
        const aborted = this.options.signal.aborted || (err instanceof ProviderError && err.reason === 'aborted');
        if (aborted || !this.replayable || this.index + 1 >= this.owner.providers.length) throw err;
        const reason = (err as Error).message;
        this.errors.push(`${failedName}: ${reason}`);
        const next = this.owner.open(this.index + 1, this.options, this.errors);
        const nextName = this.owner.providers[next.index]!.name;
        this.owner.lastFallback = { from: failedName, to: nextName, reason };
        this.logger.warn({ from: failedName, to: nextName, err: reason }, 'STT fallback: replaying the turn into the next provider');
        this.index = next.index;
        this.stream = next.stream;
        for (const piece of this.kept) this.stream.push(piece);
      }
    }
  }
}
