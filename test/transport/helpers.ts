/** Small helpers shared by the transport tests. */
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';

type Falsy = undefined | null | false | 0 | '';

/** Waits until `probe` returns (or resolves to) a truthy value, checked every 10 ms; fails with `what` after `timeoutMs`. */
export async function eventually<T>(probe: () => T | Falsy | Promise<T | Falsy>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** A real pino logger whose lines land in `lines`, so tests can check what was logged (and how often). */
export function captureLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const text of chunk.toString('utf8').split('\n')) if (text) lines.push(JSON.parse(text) as LogLine);
      callback();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), lines };
}

export function linesWith(lines: LogLine[], msg: string): LogLine[] {
  return lines.filter((l) => l.msg === msg);
}
