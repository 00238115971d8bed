/** A pino logger whose lines are kept in memory, so tests can check what was logged (and how often). */
import { pino } from 'pino';
import type { Logger } from '../../gateway/logger.ts';

export interface CapturedLogger {
  logger: Logger;
  lines: Array<Record<string, unknown> & { level: number; msg: string }>;
  /** Lines whose message contains `text`. */
  matching(text: string): CapturedLogger['lines'];
}

export function createCaptureLogger(level = 'debug'): CapturedLogger {
  const lines: CapturedLogger['lines'] = [];
  const logger = pino({ level, base: undefined }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger, lines, matching: (text) => lines.filter((l) => String(l.msg).includes(text)) };
}

/**
 * A logger that writes nowhere. Unlike `pino({ level: 'silent' })`, which still owns stdout,
 * it also swallows what is written at every level (the gateway's ready line).
 */
export function discardLogger(): Logger {
  return pino({ level: 'silent' }, { write: () => {} });
}
