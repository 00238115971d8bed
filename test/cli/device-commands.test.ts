/** `voxgate device …` end to end: the real executable against a temp data directory. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../gateway/store/index.ts';
import { useTempDirs } from '../helpers/temp-dir.ts';
import { runVoxgate } from './run-voxgate.ts';

const tempDir = useTempDirs('cli');

function verifyInStore(dataDir: string, id: string, token: string): boolean {
  const store = openStore(dataDir);
  try {
    return store.devices.verify(id, token);
  } finally {
    store.close();
  }
}

// Each spawn costs ~0.5 s (tsx startup) on an idle machine; allow for a loaded one.
describe('voxgate device (spawned)', { timeout: 90_000 }, () => {
  it('add --json prints a working token once; list never shows it', async () => {
    const dataDir = tempDir();
    const env = { VOXGATE_DATA_DIR: dataDir };
    const added = await runVoxgate(['device', 'add', 'kitchen-1', '--name', 'Kitchen', '--json'], env);
    expect(added.stderr).toBe('');
    expect(added.code).toBe(0);
    const issued = JSON.parse(added.stdout) as { id: string; name: string; token: string };
    expect(Object.keys(issued).sort()).toEqual(['id', 'name', 'token']);
    expect(issued).toMatchObject({ id: 'kitchen-1', name: 'Kitchen' });
    expect(verifyInStore(dataDir, 'kitchen-1', issued.token)).toBe(true);

    const listedJson = await runVoxgate(['device', 'list', '--json'], env);
    expect(listedJson.code).toBe(0);
    const rows = JSON.parse(listedJson.stdout) as Array<Record<string, unknown>>;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id: 'kitchen-1', name: 'Kitchen', lastSeenAt: null });
    expect(Date.parse(rows[0]!.createdAt as string)).toBeGreaterThan(0);
    expect(listedJson.stdout).not.toContain(issued.token);

    const listed = await runVoxgate(['device', 'list'], env);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^ID\s+NAME\s+CREATED\s+LAST SEEN\n/);
    expect(listed.stdout).toMatch(/kitchen-1\s+Kitchen\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+never/);
    expect(listed.stdout).not.toContain(issued.token);
  });

  it('add (human form) prints id, name, token and how to connect with the configured ports', async () => {
    const dataDir = tempDir();
    const result = await runVoxgate(['--mqtt-port', '18883', 'device', 'add', 'pin', '--http-port', '18080'], {
      VOXGATE_DATA_DIR: dataDir,
      VOXGATE_HTTP_PORT: '9999',
    });
    expect(result.code).toBe(0);
    const token = /token: ([A-Za-z0-9_-]{43})\n/.exec(result.stdout)?.[1];
    expect(token).toBeDefined();
    expect(verifyInStore(dataDir, 'pin', token!)).toBe(true);
    expect(result.stdout).toContain('device pin ("pin")');
    expect(result.stdout).toContain(':18883 with username "pin"');
    // the flag wins over the environment variable
    expect(result.stdout).toContain(':18080/v1/device');
    expect(result.stdout).not.toContain('9999');
  });

  it('refuses a duplicate or invalid id with exit code 1 and a message on stderr', async () => {
    const env = { VOXGATE_DATA_DIR: tempDir() };
    expect((await runVoxgate(['device', 'add', 'twice', '--json'], env)).code).toBe(0);
    const duplicate = await runVoxgate(['device', 'add', 'twice', '--json'], env);
    expect(duplicate.code).toBe(1);
    expect(duplicate.stdout).toBe('');
    expect(duplicate.stderr).toMatch(/already exists/);

    const invalid = await runVoxgate(['device', 'add', 'no/slashes'], env);
    expect(invalid.code).toBe(1);
    expect(invalid.stdout).toBe('');
    expect(invalid.stderr).toMatch(/invalid device id/);

    const missingArgument = await runVoxgate(['device', 'add'], env);
    expect(missingArgument.code).toBe(1);
    expect(missingArgument.stderr).toMatch(/missing required argument/);
  });

  it('rotate-token replaces the token; remove deletes the device; unknown ids fail', async () => {
    const dataDir = tempDir();
    const env = { VOXGATE_DATA_DIR: dataDir };
    const { token: first } = JSON.parse((await runVoxgate(['device', 'add', 'watch', '--json'], env)).stdout) as {
      token: string;
    };
    const rotated = await runVoxgate(['device', 'rotate-token', 'watch', '--json'], env);
    expect(rotated.code).toBe(0);
    const { id, token: second } = JSON.parse(rotated.stdout) as { id: string; token: string };
    expect(id).toBe('watch');
    expect(second).not.toBe(first);
    expect(verifyInStore(dataDir, 'watch', first)).toBe(false);
    expect(verifyInStore(dataDir, 'watch', second)).toBe(true);

    const rotateUnknown = await runVoxgate(['device', 'rotate-token', 'nobody'], env);
    expect(rotateUnknown.code).toBe(1);
    expect(rotateUnknown.stderr).toMatch(/no device with id "nobody"/);

    const removed = await runVoxgate(['device', 'remove', 'watch'], env);
    expect(removed.code).toBe(0);
    expect(removed.stdout).toContain('Removed device watch');
    expect(verifyInStore(dataDir, 'watch', second)).toBe(false);
    expect((await runVoxgate(['device', 'list', '--json'], env)).stdout.trim()).toBe('[]');

    const removeAgain = await runVoxgate(['device', 'remove', 'watch'], env);
    expect(removeAgain.code).toBe(1);
    expect(removeAgain.stderr).toMatch(/no device with id "watch"/);
  });

  it('finds the data directory from --data-dir, then the environment, then --config', async () => {
    const fromEnv = tempDir();
    const fromFlag = tempDir();
    const fromFile = tempDir();
    const configFile = path.join(tempDir(), 'voxgate.json');
    writeFileSync(configFile, JSON.stringify({ dataDir: fromFile }));

    const viaFlag = await runVoxgate(['device', 'add', 'flagged', '--json', '--data-dir', fromFlag], {
      VOXGATE_DATA_DIR: fromEnv,
    });
    expect(viaFlag.code).toBe(0);
    const viaFile = await runVoxgate(['--config', configFile, 'device', 'add', 'filed', '--json'], {});
    expect(viaFile.code).toBe(0);

    const ids = async (dir: string) =>
      (JSON.parse((await runVoxgate(['device', 'list', '--json', '--data-dir', dir])).stdout) as Array<{ id: string }>).map(
        (d) => d.id,
      );
    expect(await ids(fromFlag)).toEqual(['flagged']);
    expect(await ids(fromEnv)).toEqual([]);
    expect(await ids(fromFile)).toEqual(['filed']);
  });

  it('reports bad configuration and unknown commands with exit code 1', async () => {
    const env = { VOXGATE_DATA_DIR: tempDir() };
    const badPort = await runVoxgate(['--http-port', 'eighty', 'device', 'list'], env);
    expect(badPort.code).toBe(1);
    expect(badPort.stderr).toMatch(/invalid configuration: httpPort/);

    const missingFile = await runVoxgate(['--config', '/nonexistent/voxgate.json', 'device', 'list'], env);
    expect(missingFile.code).toBe(1);
    expect(missingFile.stderr).toMatch(/cannot read config file/);

    const unknown = await runVoxgate(['devices'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/unknown command 'devices'/);
  });
});
