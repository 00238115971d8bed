/**
 * Starts the gateway under soak (soak-gateway.ts) as a child process and talks to it: commands
 * over IPC (make syntheses fail, collect garbage), its log lines counted by level and message,
 * and a stop that measures how long SIGTERM takes to end it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ENTRY = path.join(path.dirname(fileURLToPath(import.meta.url)), 'soak-gateway.ts');
/** tsx compiles the gateway and the engines load their models: slow on a loaded machine. */
const START_TIMEOUT_MS = 90_000;
const COMMAND_TIMEOUT_MS = 30_000;
/** Issue 11 item 10: after SIGTERM the gateway exits within 10 s; past this the soak kills it. */
export const STOP_LIMIT_MS = 10_000;

export type GatewayCommand =
  | { type: 'failTts'; id: number; count: number }
  | { type: 'clearTts'; id: number }
  | { type: 'gc'; id: number };

export type GatewayReply =
  | { type: 'ready'; httpPort: number; mqttPort: number | null }
  | { type: 'failed'; message: string }
  | { type: 'done'; id: number; value?: number };

/** pino's numeric levels. */
const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

export interface GatewayLog {
  /** Lines by level name. */
  byLevel: Record<string, number>;
  /** warn and above: how often each message was logged. */
  messages: Record<string, number>;
  /** The last lines (any level), for a failure report. */
  tail: string[];
  /** The last lines about each device (its `device` field), so that a stuck device comes with its story. */
  byDevice: Map<string, string[]>;
}

/** Lines kept per device: a few turns' worth at level info. */
const DEVICE_LINES = 30;

export interface GatewayChild {
  readonly httpPort: number;
  readonly mqttPort: number | null;
  readonly pid: number;
  /** Set once the process has exited (crash or stop). */
  readonly exit: { code: number | null; signal: string | null } | undefined;
  readonly log: GatewayLog;
  failTts(count: number): Promise<void>;
  /** Forgets injected TTS failures not yet hit; resolves with how many there were. */
  clearTts(): Promise<number>;
  /** A full garbage collection in the gateway, so the next memory figures are what is live. */
  collectGarbage(): Promise<void>;
  /** SIGTERM; resolves with how long it took to exit (killed past STOP_LIMIT_MS: then `killed`). */
  stop(): Promise<{ ms: number; killed: boolean }>;
}

/** `logFile`: every line the gateway logs is also appended there. */
export async function startGatewayChild(overrides: Record<string, unknown>, cwd: string, logFile?: string): Promise<GatewayChild> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', ENTRY, JSON.stringify(overrides)], {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const log: GatewayLog = { byLevel: {}, messages: {}, tail: [], byDevice: new Map() };
  const file = logFile ? createWriteStream(logFile, { flags: 'a' }) : undefined;
  file?.on('error', () => {});
  const keep = (line: string) => {
    file?.write(`${line}\n`);
    log.tail.push(line.slice(0, 2000));
    if (log.tail.length > 40) log.tail.shift();
  };
  let partial = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    partial += chunk.toString('utf8');
    const lines = partial.split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      if (line.trim() === '') continue;
      keep(line);
      try {
        const entry = JSON.parse(line) as { level?: number; msg?: string; device?: unknown };
        const level = LEVELS[entry.level ?? 0] ?? String(entry.level);
        if (typeof entry.device === 'string') {
          const lines = log.byDevice.get(entry.device) ?? [];
          lines.push(line.slice(0, 600));
          if (lines.length > DEVICE_LINES) lines.shift();
          log.byDevice.set(entry.device, lines);
        }
        log.byLevel[level] = (log.byLevel[level] ?? 0) + 1;
        if ((entry.level ?? 0) >= 40) log.messages[`${level}: ${entry.msg ?? ''}`] = (log.messages[`${level}: ${entry.msg ?? ''}`] ?? 0) + 1;
      } catch {
        log.byLevel.unparsed = (log.byLevel.unparsed ?? 0) + 1;
      }
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => keep(`stderr: ${chunk.toString('utf8').trimEnd()}`));

  let exit: GatewayChild['exit'];
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      file?.end();
      resolve();
    }),
  );
  const pending = new Map<number, { resolve: (value: number | undefined) => void; reject: (error: Error) => void }>();
  void exited.then(() => {
    for (const waiter of pending.values()) waiter.reject(new Error(`the gateway exited (${exit?.signal ?? exit?.code})`));
    pending.clear();
  });
  let nextId = 1;
  const command = (message: GatewayCommand extends infer C ? (C extends unknown ? Omit<C, 'id'> : never) : never): Promise<number | undefined> =>
    new Promise((resolve, reject) => {
      if (exit) return reject(new Error(`the gateway exited (${exit.signal ?? exit.code})`));
      const id = nextId++;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`the gateway did not answer ${message.type} within ${COMMAND_TIMEOUT_MS} ms`));
      }, COMMAND_TIMEOUT_MS);
      pending.set(id, {
        resolve: (value) => (clearTimeout(timer), resolve(value)),
        reject: (error) => (clearTimeout(timer), reject(error)),
      });
      child.send({ ...message, id } as GatewayCommand);
    });

  const ready = await new Promise<{ httpPort: number; mqttPort: number | null }>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the gateway did not start within ${START_TIMEOUT_MS} ms:\n${log.tail.join('\n')}`));
    }, START_TIMEOUT_MS);
    child.on('message', (reply: GatewayReply) => {
      if (reply.type === 'ready') {
        clearTimeout(timer);
        resolve(reply);
      } else if (reply.type === 'failed') {
        clearTimeout(timer);
        reject(new Error(`the gateway failed to start: ${reply.message}`));
      } else {
        pending.get(reply.id)?.resolve(reply.value);
        pending.delete(reply.id);
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`the gateway exited (${exit?.signal ?? exit?.code}) before it was ready:\n${log.tail.join('\n')}`));
    });
  });

  let stopped: Promise<{ ms: number; killed: boolean }> | undefined;
  return {
    httpPort: ready.httpPort,
    mqttPort: ready.mqttPort,
    pid: child.pid!,
    get exit() {
      return exit;
    },
    log,
    failTts: async (count) => void (await command({ type: 'failTts', count })),
    clearTts: async () => (await command({ type: 'clearTts' })) ?? 0,
    collectGarbage: async () => void (await command({ type: 'gc' })),
    stop() {
      stopped ??= (async () => {
        const started = performance.now();
        if (exit) return { ms: 0, killed: false };
        child.kill('SIGTERM');
        let killed = false;
        const limit = setTimeout(() => {
          killed = true;
          child.kill('SIGKILL');
        }, STOP_LIMIT_MS);
        await exited;
        clearTimeout(limit);
        return { ms: Math.round(performance.now() - started), killed };
      })();
      return stopped;
    },
  };
}
