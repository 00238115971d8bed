/**
 * The `preemption` section of the gateway config: preemptive generation (preemption.ts).
 * Pure (zod only): config.ts composes it.
 */
import { z } from 'zod';

const ON = new Set(['on', 'true', '1', 'yes']);
const OFF = new Set(['off', 'false', '0', 'no']);
/** `on`/`off` (also true/false, 1/0, yes/no) from the environment; booleans from a JSON file. */
const onOff = z.preprocess((v) => {
  if (typeof v !== 'string') return v;
  const word = v.trim().toLowerCase();
  return ON.has(word) ? true : OFF.has(word) ? false : v;
}, z.boolean({ message: 'expected on or off' }));

/**
 * 200 ms, measured with `npm run bench` (docs/latency.md): with the button held 0.5 s after
 * each recording, release → first audio p50 / p95 and discarded speculations per turn were
 * 48 / 205 ms and 1.25 at 200 ms, 94 / 280 ms and 1.0 at 250 ms, 136 / 327 ms and 0.5 at
 * 300 ms (the fake LLM's first token takes 250 ms). Only 200 ms kept p95 under the model's
 * time to first token; each 50 ms more is 50 ms less head start and fewer extra LLM calls.
 */
export const DEFAULT_PREEMPTIVE_STABLE_MS = 200;

export const PreemptionSchema = z.object({
  /** Start the reply on a stable partial transcript while the user is still holding the button. */
  enabled: onOff.default(true),
  /** How long the partial transcript must stay the same (with the speaker silent) before a speculation starts. */
  stableMs: z.coerce.number().int().min(0).max(5_000).default(DEFAULT_PREEMPTIVE_STABLE_MS),
});
export type PreemptionSettings = z.infer<typeof PreemptionSchema>;

/** Environment variable → config path for the preemption section (merged into config.ts's ENV_VARS). */
export const PREEMPTION_ENV_VARS: Record<string, string> = {
  VOXGATE_PREEMPTIVE: 'preemption.enabled',
  VOXGATE_PREEMPTIVE_STABLE_MS: 'preemption.stableMs',
};
