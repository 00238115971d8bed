/**
 * `voxgate device mosquitto-passwd`: an external Mosquitto's accounts for the registered wearables,
 * written from the database (see docs/external-broker.md). The running gateway does the
 * same on every device change when `transport.mosquittoPasswordFile` is set; this command is for
 * a first setup, a broker on another machine (print and copy), or Home Assistant's add-on.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { goAuthPbkdf2Hash } from '../store/index.ts';
import { AccountsError, haAddonLogins, parsePasswordFile, planPasswordFile, syncPasswordFile, type PasswordFilePlan } from '../transport/mosquitto-accounts.ts';
import { CliError, type CliContext } from './context.ts';
import { withStore } from './store-helpers.ts';

interface PasswdOptions {
  output?: string;
  include?: string;
  reload?: string;
  format?: string;
}

function warnings(plan: PasswordFilePlan): string {
  let text = '';
  if (plan.kept.length > 0) {
    text += `kept the existing line of ${plan.kept.join(', ')} (registered before voxgate kept broker hashes; \`voxgate device rotate-token <id>\` hands it over)\n`;
  }
  if (plan.missing.length > 0) {
    text += `no broker password for ${plan.missing.join(', ')}: these devices cannot log in until \`voxgate device rotate-token <id>\`\n`;
  }
  return text;
}

/** Adds `mosquitto-passwd` to the `device` command group. */
export function addMosquittoPasswdCommand(device: Command, context: CliContext): void {
  device
    .command('mosquitto-passwd')
    .description("write an external Mosquitto's password file from the registered devices (or print it)")
    .option('--output <file>', 'the password_file Mosquitto reads (env VOXGATE_MOSQUITTO_PASSWORD_FILE); without it, print to stdout')
    .option('--include <file>', 'logins kept with mosquitto_passwd to put first (env VOXGATE_MOSQUITTO_INCLUDE_FILE)')
    .option('--reload <pid-file>', "Mosquitto's pid_file: send it SIGHUP after writing (env VOXGATE_MOSQUITTO_PID_FILE)")
    .option('--format <format>', '`mosquitto` (password file) or `ha-addon` (logins: for the Home Assistant add-on)', 'mosquitto')
    .action((options: PasswdOptions, command: Command) => {
      const config = context.config(command);
      const { io } = context;
      const devices = withStore(config, (store) => store.devices.brokerHashes());
      if (options.format === 'ha-addon') {
        const ready = devices.flatMap((d) => {
          const goAuthHash = d.brokerHash ? goAuthPbkdf2Hash(d.brokerHash) : undefined;
          return goAuthHash ? [{ id: d.id, goAuthHash }] : [];
        });
        const missing = devices.filter((d) => !ready.some((r) => r.id === d.id)).map((d) => d.id);
        io.stdout(haAddonLogins(ready));
        if (missing.length > 0) io.stderr(`no broker password for ${missing.join(', ')}: rotate their tokens first (\`voxgate device rotate-token <id>\`)\n`);
        return;
      }
      if (options.format !== 'mosquitto') throw new CliError(`unknown --format ${JSON.stringify(options.format)}: use mosquitto or ha-addon`);
      const t = config.transport;
      const output = options.output ?? t.mosquittoPasswordFile;
      const includeFile = options.include ?? t.mosquittoIncludeFile;
      const pidFile = options.reload ?? t.mosquittoPidFile;
      try {
        if (!output) {
          if (pidFile) throw new CliError('--reload needs --output (the file Mosquitto reads)');
          const plan = syncless(devices, includeFile);
          io.stdout(plan.text);
          io.stderr(warnings(plan));
          return;
        }
        const result = syncPasswordFile(devices, { file: output, includeFile, pidFile });
        const what = `${result.devices.length + result.kept.length} device login(s)${result.included.length > 0 ? ` after ${result.included.length} from ${includeFile}` : ''}`;
        if (!result.written) io.stdout(`${output} already holds ${what}; nothing to do.\n`);
        else io.stdout(`Wrote ${what} to ${output}.${result.reloadedPid ? ` Sent SIGHUP to Mosquitto (pid ${result.reloadedPid}).` : ' Reload Mosquitto (SIGHUP) to apply it.'}\n`);
        io.stderr(warnings(result));
      } catch (err) {
        if (err instanceof AccountsError) throw new CliError(err.message);
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'EACCES' || code === 'ESRCH' || code === 'EPERM') throw new CliError((err as Error).message);
        throw err;
      }
    });
}

/** The plan without writing (stdout mode): the include file's logins, then the devices. */
function syncless(devices: Parameters<typeof planPasswordFile>[0], includeFile: string | undefined): PasswordFilePlan {
  return planPasswordFile(devices, includeFile ? parsePasswordFile(readFileSync(includeFile, 'utf8')) : new Map(), new Map());
}
