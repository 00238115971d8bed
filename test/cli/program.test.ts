/** The commander program in-process: config flags, help, error reporting and exit codes. */
import { describe, expect, it } from 'vitest';
import { buildProgram, runCli, type CliIo } from '../../gateway/cli/program.ts';
import { openStore } from '../../gateway/store/index.ts';
import { useTempDirs } from '../helpers/temp-dir.ts';

const tempDir = useTempDirs('cli-program');

function capture(env: Record<string, string> = {}): CliIo & { out: string; err: string } {
  const io = {
    env,
    out: '',
    err: '',
    stdout(text: string) {
      io.out += text;
    },
    stderr(text: string) {
      io.err += text;
    },
  };
  return io;
}

describe('voxgate program', () => {
  it('offers every command group, and every config flag with its environment variable', async () => {
    expect(buildProgram(capture()).commands.map((c) => c.name())).toEqual(['start', 'device', 'apikey', 'service', 'models', 'transcribe', 'say']);
    const io = capture();
    expect(await runCli(['--help'], io)).toBe(0);
    for (const line of [
      '--config <file>',
      '--data-dir <dir>',
      'VOXGATE_DATA_DIR',
      '--host <address>',
      'VOXGATE_HOST',
      '--http-port <port>',
      'VOXGATE_HTTP_PORT',
      '--mqtt-port <port>',
      'VOXGATE_MQTT_PORT',
      '--mqtt-url <url>',
      'VOXGATE_MQTT_URL',
      '--log-level <level>',
      'VOXGATE_LOG_LEVEL',
    ]) {
      expect(io.out).toContain(line);
    }
  });

  it('builds the config from flags over environment, whether flags come before or after the command', async () => {
    const envDir = tempDir();
    const flagDir = tempDir();
    const io = capture({ VOXGATE_DATA_DIR: envDir, VOXGATE_HTTP_PORT: '1111', VOXGATE_HOST: '10.0.0.5' });
    expect(await runCli(['--mqtt-url', 'mqtt://broker.lan:1883', 'device', 'add', 'x', '--data-dir', flagDir], io)).toBe(0);
    expect(io.err).toBe('');
    expect(io.out).toContain('MQTT through the broker at mqtt://broker.lan:1883');
    expect(io.out).toContain('ws://10.0.0.5:1111/v1/device');
    const store = openStore(flagDir);
    try {
      expect(store.devices.get('x')).toBeDefined();
    } finally {
      store.close();
    }
  });

  it('turns store and config errors into one line on stderr and exit code 1', async () => {
    const io = capture({ VOXGATE_DATA_DIR: tempDir() });
    expect(await runCli(['device', 'remove', 'ghost'], io)).toBe(1);
    expect(io.err).toBe('error: no device with id "ghost"\n');
    const badLevel = capture({ VOXGATE_DATA_DIR: tempDir() });
    expect(await runCli(['--log-level', 'chatty', 'device', 'list'], badLevel)).toBe(1);
    expect(badLevel.err).toMatch(/^error: invalid configuration: logLevel/);
    expect(badLevel.err.trim().split('\n')).toHaveLength(1);
  });

  it('prints "no devices yet" for an empty list', async () => {
    const io = capture({ VOXGATE_DATA_DIR: tempDir() });
    expect(await runCli(['device', 'list'], io)).toBe(0);
    expect(io.out).toMatch(/No devices yet/);
  });
});
