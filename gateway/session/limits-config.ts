/**
 * The `limits` section of the gateway config: what a device session allows (docs/protocol.md §4).
 * Each default has a one-line reason. Pure (zod only): config.ts composes it.
 */
import { z } from 'zod';

const positiveMs = z.coerce.number().int().positive();

export const LimitsSchema = z.object({
  /** docs/protocol.md §4: a turn longer than 30 s of audio is ended by the gateway. */
  maxTurnMs: positiveMs.default(30_000),
  /** docs/protocol.md §4: audio faster than 2× real time is refused as `rate_limited`. */
  maxAudioRate: z.coerce.number().positive().default(2),
  /** Largest legal mic packet is 120 ms pcm16 (3,840 B) or a 60 ms Opus packet (≤ 3,828 B). */
  maxAudioFrameBytes: z.coerce.number().int().positive().default(4096),
  /** docs/protocol.md §2: reply audio runs at most this far ahead of real time. */
  leadMs: z.coerce.number().int().min(0).default(400),
  /** docs/protocol.md §1.3: after `listen stop` with `frames`, wait this long for frames still in flight. */
  stragglerWaitMs: z.coerce.number().int().min(0).default(300),
  /** A connection that authenticated but never says hello is closed after this (no buffering first). */
  helloTimeoutMs: positiveMs.default(10_000),
  /** Rate limiting tolerates this much burst (ms of audio) before judging the rate. */
  rateBurstMs: positiveMs.default(1_000),
});
export type Limits = z.infer<typeof LimitsSchema>;

/** Environment variable → config path for the limits section (merged into config.ts's ENV_VARS). */
export const LIMITS_ENV_VARS: Record<string, string> = {
  VOXGATE_MAX_TURN_MS: 'limits.maxTurnMs',
  VOXGATE_LEAD_MS: 'limits.leadMs',
};
