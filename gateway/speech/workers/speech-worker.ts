/**
 * One worker thread running a speech engine module (a recognizer or a TTS voice), with
 * a ready handshake: the module loads its model from `workerData` and posts
 * `{ type: 'ready' }` or `{ type: 'init-error', message }`.
 *
 * The gateway ships compiled JavaScript (dist/), whose workers start directly. Tests and
 * benches run the TypeScript sources through tsx; a worker thread does not inherit the main
 * thread's loader, so a `.ts` module is started by a tiny bootstrap that registers tsx
 * inside the worker first.
 *
 * A worker is never ended with `Worker.terminate()`: terminating a thread that is inside a
 * native sherpa-onnx call makes the addon (node-addon-api with C++ exceptions) throw on the
 * dying environment when the call returns — `terminate called after throwing an instance of
 * 'Napi::Error'` — which aborts the whole process, gateway included. Instead `stop()` asks
 * the worker's module to end itself between native calls (see WorkerStopRequest).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, type Transferable } from 'node:worker_threads';

const require = createRequire(import.meta.url);

/** Loading a large model on a slow board takes a while; past this the worker is declared dead. */
export const WORKER_START_TIMEOUT_MS = 120_000;

/**
 * How long a worker asked to stop may take: the native call in flight (one decode chunk or
 * one sentence) finishes well within this. A worker still running after it is abandoned
 * (unref'd so it cannot hold the process open), never terminated mid-call.
 */
export const WORKER_STOP_TIMEOUT_MS = 10_000;

/**
 * Every speech worker module must handle this message: drop its work, then close its
 * parentPort so that the thread ends by itself (exit code 0).
 */
export interface WorkerStopRequest {
  type: 'stop';
}

/** The worker may add facts about what it loaded (e.g. a voice's sample rate). */
export interface WorkerReady {
  type: 'ready';
  [fact: string]: unknown;
}
export interface WorkerInitError {
  type: 'init-error';
  message: string;
}

/**
 * The URL of a worker module beside `baseUrl` (pass `import.meta.url`): `.ts` when the caller
 * runs from the sources (tests, tsx), `.js` when it runs compiled from dist/.
 */
export function siblingModuleUrl(baseUrl: string, name: string): URL {
  return new URL(`./${name}${baseUrl.endsWith('.ts') ? '.ts' : '.js'}`, baseUrl);
}

/**
 * Starts a module as a child process with an IPC channel (advanced serialization, so typed
 * arrays pass as they are): `.ts` through tsx's loader, compiled `.js` as it is. The child's
 * stderr is the gateway's.
 */
export function forkModule(moduleUrl: URL, args: readonly string[]): ChildProcess {
  const file = fileURLToPath(moduleUrl);
  const execArgv = file.endsWith('.ts') ? ['--import', pathToFileURL(require.resolve('tsx')).href] : [];
  return fork(file, args, { execArgv, serialization: 'advanced', stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
}

function startWorker(moduleUrl: URL, workerData: unknown, name: string): Worker {
  if (!moduleUrl.pathname.endsWith('.ts')) return new Worker(moduleUrl, { workerData, name });
  // The ESM build of tsx's API (its CommonJS build resolves its hooks wrongly from an eval'd worker).
  const tsxApi = pathToFileURL(require.resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
  const boot =
    `import(${JSON.stringify(tsxApi)}).then(({ register }) => { register(); return import(${JSON.stringify(moduleUrl.href)}); })` +
    `.catch((err) => { setImmediate(() => { throw err; }); });`;
  return new Worker(boot, { eval: true, workerData, name });
}

/**
 * A started worker. `onMessage` receives everything after the handshake; `onExit` is
 * called once when the worker is gone (it crashed, it was stopped, or it was abandoned).
 */
export class SpeechWorker<In, Out> {
  private readonly worker: Worker;
  private exitListeners: Array<(error: Error) => void> = [];
  private messageListener: (message: Out) => void = () => {};
  private exited = false;
  private stopping?: Promise<void>;
  /** The worker's ready message. */
  readyInfo: WorkerReady = { type: 'ready' };

  private constructor(worker: Worker) {
    this.worker = worker;
    let lastError: Error | undefined;
    worker.on('error', (error) => {
      lastError = error;
    });
    worker.on('exit', (code) => {
      this.gone(lastError ?? new Error(this.stopping ? 'worker stopped' : `worker exited with code ${code}`));
    });
  }

  private gone(error: Error): void {
    if (this.exited) return;
    this.exited = true;
    const listeners = this.exitListeners;
    this.exitListeners = [];
    for (const listener of listeners) listener(error);
  }

  /** Starts the worker and waits for its model to load. Rejects with the worker's own reason. */
  static async start<In, Out>(
    moduleUrl: URL,
    workerData: unknown,
    name: string,
    timeoutMs = WORKER_START_TIMEOUT_MS,
  ): Promise<SpeechWorker<In, Out>> {
    const handle = new SpeechWorker<In, Out>(startWorker(moduleUrl, workerData, name));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        void handle.stop();
        reject(new Error(`${name}: no ready signal after ${timeoutMs} ms`));
      }, timeoutMs);
      const done = (error?: Error) => {
        clearTimeout(timer);
        handle.worker.off('message', onFirst);
        if (error) reject(error);
        else resolve();
      };
      const onFirst = (message: WorkerReady | WorkerInitError) => {
        if (message.type === 'ready') {
          handle.readyInfo = message;
          done();
        }
        else if (message.type === 'init-error') {
          void handle.stop();
          done(new Error(message.message));
        }
      };
      handle.worker.on('message', onFirst);
      handle.exitListeners.push((error) => done(error));
    });
    handle.worker.on('message', (message: Out) => handle.messageListener(message));
    return handle;
  }

  /** Running and not asked to stop: new work may be given to it. */
  get alive(): boolean {
    return !this.exited && !this.stopping;
  }

  onMessage(listener: (message: Out) => void): void {
    this.messageListener = listener;
  }

  onExit(listener: (error: Error) => void): void {
    this.exitListeners.push(listener);
  }

  post(message: In, transfer?: readonly Transferable[]): void {
    if (!this.exited && !this.stopping) this.worker.postMessage(message, transfer);
  }

  /**
   * Asks the worker to end itself once its current native call returns; resolves when it
   * has exited, or after `timeoutMs` when it is abandoned instead. Never rejects.
   */
  stop(timeoutMs = WORKER_STOP_TIMEOUT_MS): Promise<void> {
    if (this.exited) return Promise.resolve();
    this.stopping ??= new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.worker.unref();
        this.gone(new Error(`worker did not stop within ${timeoutMs} ms (abandoned)`));
      }, timeoutMs);
      timer.unref();
      this.exitListeners.push(() => {
        clearTimeout(timer);
        resolve();
      });
      const stop: WorkerStopRequest = { type: 'stop' };
      this.worker.postMessage(stop);
    });
    return this.stopping;
  }
}
