/**
 * The ready line, `{"msg":"ready","httpPort":…,"mqttPort":…}`, is the gateway's readiness
 * signal: scripts and service managers wait for it. It is written at every log level, `warn`,
 * `error` and `silent` included, so quieting the log never hides it.
 */
import type { Logger } from './logger.ts';

export const READY_MESSAGE = 'ready';

export function logReady(logger: Logger, fields: Record<string, unknown>): void {
  // A child with its own level writes to the same destination even when the parent's level is above info.
  const out = logger.isLevelEnabled('info') ? logger : logger.child({}, { level: 'info' });
  out.info(fields, READY_MESSAGE);
}
