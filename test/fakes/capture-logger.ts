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
