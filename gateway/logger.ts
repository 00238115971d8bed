/** pino, configured once. Child loggers carry `device` and `turn`; audio is never logged. */
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino({ level, base: { name: 'voxgate' } }, destination ?? pino.destination({ sync: false }));
}
