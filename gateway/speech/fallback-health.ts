/** The health of a fallback composition (STT or TTS): which provider serves now, and why not the first. */
import type { ProviderHealth } from '../providers.ts';

export function fallbackHealth(
  kind: 'stt' | 'tts',
  providers: ReadonlyArray<{ name: string; health(): ProviderHealth }>,
  last?: { from: string; to: string; reason: string; what: string },
): ProviderHealth {
  const states = providers.map((provider) => ({ provider, health: provider.health() }));
  const serving = states.find((s) => s.health.ready);
  const first = states[0]!;
  if (!serving) {
    const why = states.map((s) => `${s.provider.name}: ${s.health.detail ?? 'not ready'}`).join('; ');
    return { name: kind, ready: false, detail: why, install: states.find((s) => s.health.install)?.health.install };
  }
  if (serving !== first) {
    return {
      name: kind,
      ready: true,
      detail: `fallback to ${serving.provider.name}: ${first.health.detail ?? `${first.provider.name} not ready`}`,
      install: first.health.install,
    };
  }
  const recent = last ? ` (${last.what} ${last.from} → ${last.to}: ${last.reason})` : '';
  return { name: kind, ready: true, detail: `${serving.provider.name}${recent}` };
}
