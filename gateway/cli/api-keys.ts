/** `voxgate apikey create|list|revoke`: keys for the HTTP API (shown once, stored hashed). */
import type { Command } from 'commander';
import type { ApiKeyRecord } from '../store/index.ts';
import type { CliContext, CommandGroup } from './context.ts';
import { humanTime as human, isoTime as iso, printTable, withStore } from './store-helpers.ts';

function toJson(key: ApiKeyRecord) {
  return { id: key.id, name: key.name, createdAt: iso(key.createdAt), lastUsedAt: iso(key.lastUsedAt), revokedAt: iso(key.revokedAt) };
}

function printKeys(context: CliContext, keys: ApiKeyRecord[]): void {
  if (keys.length === 0) {
    context.io.stdout('No API keys yet. Create one with `voxgate apikey create --name <name>`.\n');
    return;
  }
  const table = [
    ['ID', 'NAME', 'CREATED', 'LAST USED', 'STATUS'],
    ...keys.map((k) => [k.id, k.name, human(k.createdAt, ''), human(k.lastUsedAt, 'never'), k.revokedAt === null ? 'active' : `revoked ${human(k.revokedAt, '')}`]),
  ];
  printTable(context.io, table);
}

export const registerApiKeyCommands: CommandGroup = (program: Command, context: CliContext) => {
  const apikey = program.command('apikey').description('manage keys for the HTTP API (Authorization: Bearer <key>)');

  apikey
    .command('create')
    .description('issue an API key and print it (shown once)')
    .option('--name <name>', 'who or what uses it (default: key-<id>)')
    .option('--json', 'print {"id","name","key"} as JSON')
    .action((options: { name?: string; json?: boolean }, command: Command) => {
      const config = context.config(command);
      const { record, key } = withStore(config, (store) => store.apiKeys.create(options.name));
      if (options.json) {
        context.io.stdout(`${JSON.stringify({ id: record.id, name: record.name, key })}\n`);
        return;
      }
      context.io.stdout(
        `Created API key ${record.id} (${JSON.stringify(record.name)}).\n` +
          `  key: ${key}\n` +
          'This key is shown only now. Send it as "Authorization: Bearer <key>"; ' +
          `revoke it with \`voxgate apikey revoke ${record.id}\`.\n`,
      );
    });

  apikey
    .command('list')
    .description('list API keys (never the keys themselves)')
    .option('--json', 'print a JSON array')
    .action((options: { json?: boolean }, command: Command) => {
      const keys = withStore(context.config(command), (store) => store.apiKeys.list());
      if (options.json) context.io.stdout(`${JSON.stringify(keys.map(toJson))}\n`);
      else printKeys(context, keys);
    });

  apikey
    .command('revoke')
    .description('revoke an API key by id or name; it stops working at once')
    .argument('<id-or-name>', 'the key id (from `apikey list`) or its name')
    .action((idOrName: string, _options: unknown, command: Command) => {
      const record = withStore(context.config(command), (store) => store.apiKeys.revoke(idOrName));
      context.io.stdout(`Revoked API key ${record.id} (${JSON.stringify(record.name)}).\n`);
    });
};
