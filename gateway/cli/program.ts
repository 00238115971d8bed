/**
 * The `voxgate` command line as a commander program. Global flags mirror the
 * environment variables and win over them; every command gets its config from
 * `context.config(command)`. main.ts runs it; tests run it in-process with runCli.
 */
import { Command, CommanderError } from 'commander';
import { ConfigError, ENV_VARS, loadConfig } from '../config.ts';
import { StoreError } from '../store/index.ts';
import { registerApiKeyCommands } from './api-keys.ts';
import { CliError, type CliContext, type CliIo, type CommandGroup } from './context.ts';
import { registerDeviceCommands } from './devices.ts';
import { registerModelCommands } from './models.ts';
import { registerServiceCommands } from './services.ts';
import { registerSpeechCommands } from './speech.ts';
import { registerStartCommand } from './start.ts';

export { CliError, type CliContext, type CliIo, type CommandGroup } from './context.ts';

/** Global flag → config path. The matching environment variable is named in the help. */
const CONFIG_FLAGS = [
  { flags: '--data-dir <dir>', key: 'dataDir', description: 'where the database lives' },
  { flags: '--host <address>', key: 'host', description: 'interface to listen on' },
  { flags: '--http-port <port>', key: 'httpPort', description: 'HTTP/WebSocket port' },
  { flags: '--mqtt-port <port>', key: 'mqttPort', description: 'embedded MQTT broker port' },
  { flags: '--mqtt-url <url>', key: 'mqttUrl', description: 'use this external MQTT broker instead' },
  { flags: '--log-level <level>', key: 'logLevel', description: 'fatal|error|warn|info|debug|trace|silent' },
] as const;

function envVarFor(configPath: string): string | undefined {
  return Object.entries(ENV_VARS).find(([, dotted]) => dotted === configPath)?.[0];
}

// ─── Command groups ─────────────────────────────────────────────────────────────
// One file per group in gateway/cli/, listed in the order they appear in --help:
// a new group exports `registerXxxCommands: CommandGroup` and is added here.
const COMMAND_GROUPS: readonly CommandGroup[] = [
  registerStartCommand,
  registerDeviceCommands,
  registerApiKeyCommands,
  registerServiceCommands,
  registerModelCommands,
  registerSpeechCommands,
];
// ────────────────────────────────────────────────────────────────────────────────

function processIo(): CliIo {
  return {
    env: process.env,
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  };
}

export function buildProgram(io: CliIo = processIo()): Command {
  const program = new Command('voxgate')
    .description('Local voice gateway for ESP32 wearables')
    .showHelpAfterError('(add --help for usage)')
    // Throw instead of process.exit, so runCli decides the exit code; set before adding
    // subcommands because commander copies these settings into them.
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  program.option('--config <file>', 'JSON config file (env VOXGATE_CONFIG)');
  for (const flag of CONFIG_FLAGS) {
    const env = envVarFor(flag.key);
    program.option(flag.flags, env ? `${flag.description} (env ${env})` : flag.description);
  }

  const context: CliContext = {
    io,
    config(command) {
      const flags = command.optsWithGlobals<Record<string, unknown>>();
      const overrides: Record<string, unknown> = {};
      for (const flag of CONFIG_FLAGS) overrides[flag.key] = flags[flag.key];
      return loadConfig({ env: io.env, overrides, file: flags.config as string | undefined });
    },
  };
  for (const register of COMMAND_GROUPS) register(program, context);
  return program;
}

/** Runs one command line (arguments after `voxgate`) and returns the exit code. */
export async function runCli(args: readonly string[], io: CliIo = processIo()): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...args], { from: 'user' });
    return 0;
  } catch (err) {
    // commander has already printed its own message (unknown command, missing argument, --help).
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof CliError || err instanceof StoreError || err instanceof ConfigError) {
      io.stderr(`error: ${err.message}\n`);
    } else {
      io.stderr(`error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    }
    return 1;
  }
}
