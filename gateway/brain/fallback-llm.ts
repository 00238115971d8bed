/**
 * Several LLM providers as one: the first serves; when it fails before its first
 * token, the next one does (e.g. Groq in the cloud, then Ollama on the LAN). Once a
 * provider has started answering, its failure is the answer's failure: the device is
 * already speaking, and a second answer would not follow on from the first.
 */
import { ProviderError, type ProviderHealth } from '../providers.ts';
import type { Logger } from '../logger.ts';
import { textOnly } from './llm-call-policy.ts';
import type { LlmProvider, LlmRequest, LlmStreamEvent } from './types.ts';

async function* asTextEvents(deltas: AsyncIterable<string>): AsyncGenerator<LlmStreamEvent> {
  for await (const text of deltas) yield { type: 'text', text };
}

export class FallbackLlm implements LlmProvider {
  readonly name: string;

  constructor(
    private readonly providers: readonly LlmProvider[],
    private readonly logger?: Pick<Logger, 'warn'>,
  ) {
    if (providers.length === 0) throw new Error('FallbackLlm needs at least one provider');
    this.name = providers.map((p) => p.name).join(',');
  }

  health(): ProviderHealth {
    const each = this.providers.map((p) => p.health());
    const serving = each.find((h) => h.ready);
    return {
      name: this.name,
      ready: serving !== undefined,
      detail: each.map((h) => `${h.name}: ${h.ready ? 'ready' : 'not ready'}${h.detail ? ` (${h.detail})` : ''}`).join('; '),
      install: serving ? undefined : each.find((h) => h.install)?.install,
    };
  }

  stream(request: LlmRequest): AsyncIterable<string> {
    return textOnly(this.streamEvents({ ...request, tools: undefined }));
  }

  async *streamEvents(request: LlmRequest): AsyncGenerator<LlmStreamEvent> {
    const failures: unknown[] = [];
    for (const [index, provider] of this.providers.entries()) {
      let answered = false;
      try {
        const events = provider.streamEvents ? provider.streamEvents(request) : asTextEvents(provider.stream(request));
        for await (const event of events) {
          answered = true;
          yield event;
        }
        return;
      } catch (err) {
        const aborted = request.signal.aborted || (err instanceof ProviderError && err.reason === 'aborted');
        if (answered || aborted) throw err;
        failures.push(err);
        const next = this.providers[index + 1];
        if (next) {
          this.logger?.warn({ provider: provider.name, next: next.name, err: (err as Error).message }, 'LLM provider failed; falling back');
        }
      }
    }
    if (failures.length === 1) throw failures[0];
    const errors = failures.map((e) => (e instanceof ProviderError ? e : new ProviderError(String(e), true, 'failed')));
    throw new ProviderError(
      `every LLM provider failed: ${errors.map((e) => e.message).join('; ')}`,
      errors.some((e) => e.retryable),
      errors[errors.length - 1]!.reason,
      { cause: failures[failures.length - 1] },
    );
  }
}
