/**
 * Where the gateway's log lines go (stdout by default), written so that logging can never stop
 * the gateway: a destination that stalls (a pipe nobody reads) or goes away (a reader that
 * exited) costs log lines, never the event loop, and never the exit.
 *
 * pino's own destination (sonic-boom) retries a full pipe forever: on exit it flushes
 * synchronously, sleeping in Atomics.wait between EAGAIN retries, so a gateway whose stdout
 * reader had gone ignored SIGTERM for good (issue 11 item 10). Here instead:
 * - a pipe or socket is written through a libuv stream (non-blocking, woken by the kernel when
 *   it drains): process.stdout/stderr themselves for fd 1/2 (a second libuv handle on the same
 *   descriptor would fight Node's own over the epoll registration); any other descriptor (a file,
 *   a terminal) through async fs.write, one write at a time;
 * - at most `maxBufferedBytes` wait; a line that does not fit is dropped and counted
 *   (`droppedLines`, the metric voxgate_log_lines_dropped_total), and once the destination takes
 *   lines again a warning line says how many were lost;
 * - a destination that failed (EPIPE, closed) drops everything from then on, quietly;
 * - flush() waits for the buffer at most `flushTimeoutMs`, and nothing waits at exit.
 */
import fs from 'node:fs';
import net from 'node:net';

/** Enough for a burst of a few thousand lines while a reader catches up; beyond it lines are dropped. */
export const MAX_BUFFERED_LOG_BYTES = 1024 * 1024;
/** Shutdown waits at most this long for buffered lines to be written. */
export const LOG_FLUSH_TIMEOUT_MS = 1_000;
/** Retry interval after EAGAIN on a descriptor written with fs.write. */
const RETRY_MS = 100;

export interface LogDestinationOptions {
  /** Default 1 (stdout). */
  fd?: number;
  maxBufferedBytes?: number;
  flushTimeoutMs?: number;
  /** The `name` of the warning line about dropped lines (as pino's base). */
  name?: string;
}

/** How lines leave: bytes still waiting, a write, and callbacks when the backlog is gone or the sink failed. */
interface Sink {
  buffered(): number;
  write(text: string): void;
}

/** A pipe or socket through a libuv stream: non-blocking, written when the kernel says it can take more. */
function socketSink(fd: number, onDrain: () => void, onFail: () => void): Sink {
  let socket: net.Socket;
  if (fd === 1 || fd === 2) {
    // Node's own stream for the descriptor (a net.Socket for pipes and sockets).
    socket = (fd === 1 ? process.stdout : process.stderr) as unknown as net.Socket;
  } else {
    socket = new net.Socket({ fd, readable: false, writable: true });
    socket.unref(); // logging must not keep a stopping process alive
  }
  socket.on('drain', onDrain);
  socket.on('error', onFail);
  socket.on('close', onFail);
  return {
    buffered: () => socket.writableLength,
    write: (text) => void socket.write(text),
  };
}

/** Anything else (a file, a terminal) through async fs.write, one write in flight. */
function fdSink(fd: number, onDrain: () => void, onFail: () => void): Sink {
  const queue: string[] = [];
  let bytes = 0;
  let writing = false;
  let failed = false;
  const next = (): void => {
    if (failed || writing) return;
    const chunk = queue.join('');
    if (!chunk) return onDrain();
    queue.length = 0;
    writing = true;
    const buffer = Buffer.from(chunk);
    const attempt = (offset: number): void => {
      fs.write(fd, buffer, offset, buffer.length - offset, null, (err, written) => {
        if (err) {
          if (err.code === 'EAGAIN') return void setTimeout(() => attempt(offset), RETRY_MS).unref();
          failed = true;
          writing = false;
          bytes = 0;
          return onFail();
        }
        if (offset + written < buffer.length) return attempt(offset + written);
        bytes -= buffer.length;
        writing = false;
        next();
      });
    };
    attempt(0);
  };
  return {
    buffered: () => bytes,
    write(text) {
      queue.push(text);
      bytes += Buffer.byteLength(text);
      next();
    },
  };
}

export class NonBlockingLogDestination {
  /** Lines dropped because the destination was full or gone, since the start. */
  droppedLines = 0;
  private unreported = 0;
  private failed = false;
  private readonly sink: Sink;
  private readonly maxBufferedBytes: number;
  private readonly flushTimeoutMs: number;
  private readonly name: string;

  constructor(options: LogDestinationOptions = {}) {
    const fd = options.fd ?? 1;
    this.maxBufferedBytes = options.maxBufferedBytes ?? MAX_BUFFERED_LOG_BYTES;
    this.flushTimeoutMs = options.flushTimeoutMs ?? LOG_FLUSH_TIMEOUT_MS;
    this.name = options.name ?? 'voxgate';
    const onDrain = () => this.drained();
    const onFail = () => this.fail();
    let sink: Sink | undefined;
    try {
      const stat = fs.fstatSync(fd);
      if (stat.isFIFO() || stat.isSocket()) sink = socketSink(fd, onDrain, onFail);
    } catch {
      // Not a descriptor libuv can stream (or fstat failed): fs.write below.
    }
    this.sink = sink ?? fdSink(fd, onDrain, onFail);
  }

  /** pino calls this with one serialized line. Never blocks, never throws. */
  write(line: string): boolean {
    if (this.failed) {
      this.droppedLines++;
      return true;
    }
    const size = Buffer.byteLength(line);
    if (this.sink.buffered() + size > this.maxBufferedBytes) {
      this.droppedLines++;
      this.unreported++;
      return false;
    }
    try {
      this.sink.write(line);
    } catch {
      this.fail();
      this.droppedLines++;
    }
    return true;
  }

  /** Calls back once what is buffered is written, the destination failed, or flushTimeoutMs passed. */
  flush(callback: (err?: Error) => void = () => {}): void {
    const deadline = Date.now() + this.flushTimeoutMs;
    // Polled: a socket reports 'drain' only after a write it refused, not after every backlog.
    const check = () => {
      if (this.failed || this.sink.buffered() === 0 || Date.now() >= deadline) return callback();
      setTimeout(check, 10).unref();
    };
    check();
  }

  private drained(): void {
    if (this.unreported > 0 && !this.failed) {
      const line = JSON.stringify({
        level: 40,
        time: Date.now(),
        name: this.name,
        msg: 'log destination was not keeping up; log lines dropped',
        dropped: this.unreported,
        droppedTotal: this.droppedLines,
      });
      this.unreported = 0;
      this.sink.write(`${line}\n`);
    }
  }

  private fail(): void {
    this.failed = true;
    this.unreported = 0;
  }
}
