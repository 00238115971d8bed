/**
 * The store's settings (config section `store`), each default with its reason. Pure (zod
 * only) so config.ts can compose it.
 */
import { z } from 'zod';

/** Turns are an audit trail and the LLM's memory (which reaches back an hour): a month is plenty. */
export const DEFAULT_TURN_RETENTION_DAYS = 30;
/** How often old turns are looked for; the first look is at start. */
export const TURN_PRUNE_INTERVAL_MS = 60 * 60_000;
/** Rows deleted per statement: better-sqlite3 is synchronous, so a big backlog goes in slices. */
export const TURN_PRUNE_BATCH_ROWS = 500;

export const StoreSchema = z.object({
  /** Turns older than this many days are deleted; 0 keeps them forever. */
  turnRetentionDays: z.coerce.number().int().min(0).default(DEFAULT_TURN_RETENTION_DAYS),
});
export type StoreConfig = z.infer<typeof StoreSchema>;

export const STORE_ENV_VARS: Record<string, string> = {
  VOXGATE_TURN_RETENTION_DAYS: 'store.turnRetentionDays',
};
