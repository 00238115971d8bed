/** pino, configured once. Child loggers carry `device` and `turn`; audio is never logged. */
import { pino, type Logger, type DestinationStream } from 'pino';
import { NonBlockingLogDestination } from './log-destination.ts';

export type { Logger };

/** One per process: every logger without a destination shares stdout and its drop count. */
let stdout: NonBlockingLogDestination | undefined;

/** Without a destination: stdout, written so that a stalled or vanished reader never blocks the gateway (log-destination.ts). */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino({ level, base: { name: 'voxgate' } }, destination ?? (stdout ??= new NonBlockingLogDestination({ fd: 1 })));
}

/** Lines the logger's destination dropped so far (0 for a destination that never drops). */
export function droppedLogLines(logger: Logger): number {
  const stream = (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym];
  return stream instanceof NonBlockingLogDestination ? stream.droppedLines : 0;
}
