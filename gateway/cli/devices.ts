/**
 * `voxgate device add|list|remove|rotate-token|claim|mosquitto-passwd`: manage the wearables allowed
 * to connect. Stock xiaozhi firmware is added by MAC (`add <id> --mac`) or paired with the code it
 * speaks (`claim`); `mosquitto-passwd` keeps an external Mosquitto's accounts in step.
 */
import type { Command } from 'commander';
import type { Config } from '../config.ts';
import type { DeviceRecord } from '../store/index.ts';
import { CliError, type CliContext, type CommandGroup } from './context.ts';
import { addMosquittoPasswdCommand } from './device-mosquitto.ts';
import { humanTime, isoTime, printTable, withStore } from './store-helpers.ts';

interface JsonFlag {
  json?: boolean;
}

/** Tells a person where the device should connect and with what, using this config's ports. */
function connectHint(config: Config, id: string): string {
  const host = config.host === '0.0.0.0' || config.host === '::' ? '<this machine>' : config.host;
  const mqtt = config.mqttUrl
    ? `MQTT through the broker at ${config.mqttUrl}`
    : `MQTT ${host}:${config.mqttPort} with username "${id}" and the token as password`;
  return (
    `Connect with ${mqtt},\n` +
    `  or WebSocket ws://${host}:${config.httpPort}/v1/device with headers "Device-Id: ${id}" and "Authorization: Bearer <token>".\n`
  );
}

/** Where stock xiaozhi firmware gets its credentials: the OTA URL to enter in its Wi-Fi portal. */
function otaUrl(config: Config): string {
  if (config.xiaozhi.publicUrl) return new URL('/xiaozhi/ota/', config.xiaozhi.publicUrl).toString();
  const host = config.host === '0.0.0.0' || config.host === '::' ? '<this machine>' : config.host;
  return `http://${host}:${config.httpPort}/xiaozhi/ota/`;
}

function printIssued(context: CliContext, config: Config, device: DeviceRecord, token: string, json: boolean, verb: string): void {
  const { io } = context;
  if (json) {
    io.stdout(`${JSON.stringify({ id: device.id, name: device.name, token, ...(device.mac ? { mac: device.mac } : {}) })}\n`);
    return;
  }
  if (device.mac) {
    io.stdout(
      `${verb} device ${device.id} (${JSON.stringify(device.name)}) with MAC ${device.mac}.\n` +
        `It is stock xiaozhi firmware: set its OTA URL to ${otaUrl(config)} (Wi-Fi portal, Advanced tab);\n` +
        `it gets a fresh token there at every start, so the token above is not needed.\n`,
    );
    return;
  }
  io.stdout(
    `${verb} device ${device.id} (${JSON.stringify(device.name)}).\n` +
      `  token: ${token}\n` +
      `This token is shown only now: store it on the device. A lost token is replaced with \`voxgate device rotate-token ${device.id}\`.\n` +
      connectHint(config, device.id),
  );
}

function printList(context: CliContext, devices: DeviceRecord[], json: boolean): void {
  const { io } = context;
  if (json) {
    const rows = devices.map((d) => ({
      id: d.id,
      name: d.name,
      createdAt: isoTime(d.createdAt),
      lastSeenAt: isoTime(d.lastSeenAt),
      ...(d.mac ? { mac: d.mac } : {}),
    }));
    io.stdout(`${JSON.stringify(rows)}\n`);
    return;
  }
  if (devices.length === 0) {
    io.stdout('No devices yet. Add one with `voxgate device add <id>`.\n');
    return;
  }
  // The MAC column appears only once a stock xiaozhi device is registered.
  const withMac = devices.some((d) => d.mac);
  const table = [
    ['ID', 'NAME', 'CREATED', 'LAST SEEN', ...(withMac ? ['MAC'] : [])],
    ...devices.map((d) => [d.id, d.name, humanTime(d.createdAt, 'never'), humanTime(d.lastSeenAt, 'never'), ...(withMac ? [d.mac ?? ''] : [])]),
  ];
  printTable(io, table);
}

export const registerDeviceCommands: CommandGroup = (program: Command, context: CliContext) => {
  const device = program.command('device').description('manage the devices allowed to connect');

  device
    .command('add')
    .description('register a device and print its token (shown once)')
    .argument('<id>', 'device id: 1-64 letters, digits, "-" or "_"')
    .option('--name <name>', 'human-readable name (default: the id)')
    .option('--mac <mac>', 'stock xiaozhi firmware: its MAC (aa:bb:cc:dd:ee:ff), so it needs no pairing code')
    .option('--json', 'print {"id","name","token"} (and "mac") as JSON')
    .action((id: string, options: JsonFlag & { name?: string; mac?: string }, command: Command) => {
      const config = context.config(command);
      const { device: record, token } = withStore(config, (store) => store.devices.add(id, options.name, { mac: options.mac }));
      printIssued(context, config, record, token, options.json === true, 'Added');
    });

  device
    .command('list')
    .description('list registered devices (never their tokens)')
    .option('--json', 'print a JSON array')
    .action((options: JsonFlag, command: Command) => {
      const devices = withStore(context.config(command), (store) => store.devices.list());
      printList(context, devices, options.json === true);
    });

  device
    .command('remove')
    .description('delete a device and its conversation history')
    .argument('<id>', 'device id')
    .action((id: string, _options: unknown, command: Command) => {
      const removed = withStore(context.config(command), (store) => store.devices.remove(id));
      if (!removed) throw new CliError(`no device with id ${JSON.stringify(id)}`);
      context.io.stdout(`Removed device ${id}.\n`);
    });

  device
    .command('rotate-token')
    .description('issue a new token for a device; the old one stops working')
    .argument('<id>', 'device id')
    .option('--json', 'print {"id","name","token"} as JSON')
    .action((id: string, options: JsonFlag, command: Command) => {
      const config = context.config(command);
      const { record, token } = withStore(config, (store) => {
        const newToken = store.devices.rotateToken(id);
        return { record: store.devices.get(id)!, token: newToken };
      });
      printIssued(context, config, record, token, options.json === true, 'New token for');
    });

  device
    .command('claim')
    .description('pair stock xiaozhi firmware by the 6-digit code it shows and speaks')
    .argument('<code>', 'the pairing code')
    .option('--name <name>', 'human-readable name (default: the board name the device reported)')
    .option('--json', 'print {"id","name","mac"} as JSON')
    .action((code: string, options: JsonFlag & { name?: string }, command: Command) => {
      const claimed = withStore(context.config(command), (store) => store.pairing.claim(code.trim(), options.name));
      const { device: record, mac } = claimed;
      if (options.json === true) {
        context.io.stdout(`${JSON.stringify({ id: record.id, name: record.name, mac })}\n`);
        return;
      }
      context.io.stdout(
        `${claimed.repaired ? 'Paired again' : 'Paired'}: device ${record.id} (${JSON.stringify(record.name)}), MAC ${mac}.\n` +
          'The device picks up its credentials within seconds and is then ready to talk.\n',
      );
    });
  addMosquittoPasswdCommand(device, context);
};
