/** What every `voxgate` command group receives; kept apart from program.ts so groups need not import it. */
import type { Command } from 'commander';
import type { Config } from '../config.ts';

/** Where a command reads its environment and writes its output. */
export interface CliIo {
  env: Record<string, string | undefined>;
  stdout(text: string): void;
  stderr(text: string): void;
}

export interface CliContext {
  readonly io: CliIo;
  /** The typed config: defaults < config file < environment < global flags. */
  config(command: Command): Config;
}

/** Adds one group of commands (`device …`, `models …`, `transcribe`/`say` …) to the program. */
export type CommandGroup = (program: Command, context: CliContext) => void;

/** A failure to explain in one line to the person at the terminal (exit code 1). */
export class CliError extends Error {
  override name = 'CliError';
}
