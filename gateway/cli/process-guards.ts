/**
 * Process-level safety net for `voxgate start`. A promise rejection nobody handled is a bug,
 * but it belongs to one request or one device: Node's default (crash the process) would drop
 * every wearable with it. It is logged with its stack, and the gateway keeps serving.
 */
import type { Logger } from '../logger.ts';

/** The part of `process` this uses (tests may pass an EventEmitter). */
export interface RejectionSource {
  on(event: 'unhandledRejection', listener: (reason: unknown) => void): unknown;
  off(event: 'unhandledRejection', listener: (reason: unknown) => void): unknown;
}

/** Logs unhandled rejections instead of crashing; returns the undo. */
export function logUnhandledRejections(logger: Logger, source: RejectionSource = process): () => void {
  const listener = (reason: unknown) => {
    const err = reason instanceof Error ? reason : new Error(`non-Error rejection: ${String(reason)}`);
    logger.error({ err }, 'unhandled promise rejection (a bug; the gateway keeps serving)');
  };
  source.on('unhandledRejection', listener);
  return () => source.off('unhandledRejection', listener);
}
