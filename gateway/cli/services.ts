/**
 * `voxgate service add|list|remove|rotate`: MQTT accounts for services such as Home
 * Assistant on the embedded broker (username = name, password = token, shown once). What a
 * service may publish and subscribe is the bridge's service ACL (gateway/bridge/service-acl.ts).
 */
import type { Command } from 'commander';
import type { Config } from '../config.ts';
import type { ServiceAccountRecord } from '../store/index.ts';
import { CliError, type CliContext, type CommandGroup } from './context.ts';
import { isoTime as iso, withStore } from './store-helpers.ts';

function howToConnect(config: Config, name: string, token: string): string {
  if (config.mqttUrl) {
    return (
      `voxgate uses the external broker ${config.mqttUrl}: create the same user there instead ` +
      '(see docs/home-assistant.md); this account only works on the embedded broker.\n'
    );
  }
  return (
    'In Home Assistant: Settings → Devices & services → MQTT → Re-configure:\n' +
    `  broker:   this machine's address, port ${config.mqttPort}\n` +
    `  username: ${name}\n` +
    `  password: ${token}\n`
  );
}

export const registerServiceCommands: CommandGroup = (program: Command, context: CliContext) => {
  const service = program.command('service').description('MQTT accounts for services such as Home Assistant (embedded broker)');

  service
    .command('add')
    .description('create a service account and print its token (shown once)')
    .argument('<name>', 'the MQTT username, e.g. homeassistant')
    .option('--json', 'print {"name","username","token"} as JSON')
    .action((name: string, options: { json?: boolean }, command: Command) => {
      const config = context.config(command);
      const { account, token } = withStore(config, (store) => store.services.add(name));
      if (options.json) {
        context.io.stdout(`${JSON.stringify({ name: account.name, username: account.name, token })}\n`);
        return;
      }
      context.io.stdout(`Created service account ${JSON.stringify(account.name)}. Its token is shown only now.\n${howToConnect(config, account.name, token)}`);
    });

  service
    .command('list')
    .description('list service accounts (never their tokens)')
    .option('--json', 'print a JSON array')
    .action((options: { json?: boolean }, command: Command) => {
      const accounts = withStore(context.config(command), (store) => store.services.list());
      const rows = accounts.map((a: ServiceAccountRecord) => ({ name: a.name, createdAt: iso(a.createdAt), lastUsedAt: iso(a.lastUsedAt) }));
      if (options.json) {
        context.io.stdout(`${JSON.stringify(rows)}\n`);
        return;
      }
      if (rows.length === 0) {
        context.io.stdout('No service accounts yet. Create one with `voxgate service add homeassistant`.\n');
        return;
      }
      for (const row of rows) context.io.stdout(`${row.name}  created ${row.createdAt}  last login ${row.lastUsedAt ?? 'never'}\n`);
    });

  service
    .command('rotate')
    .description('issue a new token; the old one stops working at once')
    .argument('<name>')
    .action((name: string, _options: unknown, command: Command) => {
      const config = context.config(command);
      const token = withStore(config, (store) => store.services.rotateToken(name));
      context.io.stdout(`New token for ${JSON.stringify(name)} (shown only now):\n  ${token}\n`);
    });

  service
    .command('remove')
    .description('delete a service account; it cannot log in any more')
    .argument('<name>')
    .action((name: string, _options: unknown, command: Command) => {
      const removed = withStore(context.config(command), (store) => store.services.remove(name));
      if (!removed) throw new CliError(`no service account named ${JSON.stringify(name)}`);
      context.io.stdout(`Removed service account ${JSON.stringify(name)}.\n`);
    });
};
