/** The `voxgate-sim` command line as a commander program; cli.ts runs it with the process's argv. */
import { Command, CommanderError } from 'commander';
import { registerLoadCommand } from './cli-load.ts';
import { EXIT_USAGE, registerTalkCommand, UsageError, type CliIo } from './cli-talk.ts';

export function buildSimProgram(io: CliIo, setExitCode: (code: number) => void): Command {
  const program = new Command('voxgate-sim')
    .description('Simulated voxgate wearable: push-to-talk turns over WebSocket or MQTT')
    .showHelpAfterError('(add --help for usage)')
    // Throw instead of exiting so usage errors get EXIT_USAGE; set before adding subcommands (they copy it).
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  registerTalkCommand(program, io, setExitCode);
  registerLoadCommand(program, io, setExitCode);
  return program;
}

export async function runSimCli(argv: string[], io: CliIo): Promise<number> {
  let exitCode = 0;
  const program = buildSimProgram(io, (code) => (exitCode = code));
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : EXIT_USAGE;
    if (error instanceof UsageError) {
      io.stderr(`error: ${error.message}\n(add --help for usage)\n`);
      return EXIT_USAGE;
    }
    throw error;
  }
}
