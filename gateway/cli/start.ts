/** `voxgate start`: run the gateway until SIGINT/SIGTERM, then stop it in order. */
import type { Command } from 'commander';
import { createLogger, type Logger } from '../logger.ts';
import type { CliContext, CommandGroup } from './context.ts';
import { logUnhandledRejections } from './process-guards.ts';

export const SHUTDOWN_SIGNALS = ['SIGINT', 'SIGTERM'] as const;
/** After a signal the process is gone within this, whatever hangs (a broker, a log reader): supervisors wait ~10 s before SIGKILL. */
export const SHUTDOWN_DEADLINE_MS = 8_000;

/** The parts of `process` that stopOnSignals uses (tests pass an EventEmitter). */
export interface SignalSource {
  on(signal: (typeof SHUTDOWN_SIGNALS)[number], listener: (signal: NodeJS.Signals) => void): unknown;
}

export interface StopOnSignalsOptions {
  source?: SignalSource;
  exit?: (code: number) => void;
  logger?: Logger;
  /** Exit 1 this long after the first signal if stopping has not finished (default SHUTDOWN_DEADLINE_MS). */
  deadlineMs?: number;
}

/**
 * On the first SIGINT/SIGTERM calls `stop()` and exits 0 (1 when stopping failed);
 * a second signal while stopping exits 1 at once, for a shutdown that hangs, and so does the
 * deadline. The last log lines get a bounded flush (the log destination never blocks).
 */
export function stopOnSignals(stop: () => Promise<void>, options: StopOnSignalsOptions = {}): void {
  const source = options.source ?? process;
  const exitNow = options.exit ?? ((code: number) => process.exit(code));
  let deadline: NodeJS.Timeout | undefined;
  const exit = (code: number) => {
    clearTimeout(deadline);
    exitNow(code);
  };
  const logger = options.logger;
  const finish = (code: number) => {
    if (!logger) return exit(code);
    // pino writes asynchronously; flush so the last lines are not lost on exit.
    try {
      logger.flush(() => exit(code));
    } catch {
      exit(code);
    }
  };
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger?.warn({ signal }, 'second signal while stopping: exiting now');
      exit(1);
      return;
    }
    stopping = true;
    const deadlineMs = options.deadlineMs ?? SHUTDOWN_DEADLINE_MS;
    deadline = setTimeout(() => {
      logger?.error({ deadlineMs }, 'stopping took too long: exiting now');
      exit(1);
    }, deadlineMs);
    logger?.info({ signal }, 'stopping');
    stop().then(
      () => {
        logger?.info('stopped');
        finish(0);
      },
      (err: unknown) => {
        logger?.error({ err }, 'stopping failed');
        finish(1);
      },
    );
  };
  for (const signal of SHUTDOWN_SIGNALS) source.on(signal, onSignal);
}

export const registerStartCommand: CommandGroup = (program: Command, context: CliContext) => {
  program
    .command('start')
    .description('run the gateway (until SIGINT/SIGTERM)')
    .action(async (_options: unknown, command: Command) => {
      const config = context.config(command);
      const logger = createLogger(config.logLevel);
      logUnhandledRejections(logger);
      // Loaded only here: the engines behind it (sherpa-onnx, the broker) are not needed
      // by `voxgate device …`, which should stay quick.
      const { startGateway } = await import('../app.ts');
      const gateway = await startGateway(config, { logger });
      stopOnSignals(() => gateway.stop(), { logger });
    });
};
