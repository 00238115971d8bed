/**
 * `voxgate device claim` and `voxgate device add --mac`, the real executable: the code is
 * made in this process (as the running gateway's OTA endpoint makes it) and claimed by the
 * CLI in another, through the shared SQLite file. A claimed device is an ordinary device.
 */
import { describe, expect, it } from 'vitest';
import { openStore } from '../../gateway/store/index.ts';
import { useTempDirs } from '../helpers/temp-dir.ts';
import { runVoxgate } from './run-voxgate.ts';

const tempDir = useTempDirs('cli-xiaozhi');
const MAC = 'a0:b1:c2:d3:e4:f5';
const CLIENT = '0e5c3f1a-3b1d-4c55-9d3e-2f6a7b8c9d0e';

function pendingCode(dataDir: string, mac = MAC): string {
  const store = openStore(dataDir);
  try {
    return store.pairing.codeFor(mac, CLIENT, 'bread-compact-wifi').code;
  } finally {
    store.close();
  }
}

describe('voxgate device claim / add --mac (spawned)', { timeout: 90_000 }, () => {
  it('claim --json registers the device and prints {id, name, mac}; it is listed, rotatable and removable', async () => {
    const dataDir = tempDir();
    const env = { VOXGATE_DATA_DIR: dataDir };
    const code = pendingCode(dataDir);

    const claimed = await runVoxgate(['device', 'claim', code, '--name', 'Desk bot', '--json'], env);
    expect(claimed.code, claimed.stderr).toBe(0);
    const printed = JSON.parse(claimed.stdout) as Record<string, string>;
    expect(printed).toEqual({ id: 'xiaozhi-a0b1c2d3e4f5', name: 'Desk bot', mac: MAC });

    const listed = await runVoxgate(['device', 'list', '--json'], env);
    expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ id: printed.id, name: 'Desk bot', mac: MAC })]);
    const table = await runVoxgate(['device', 'list'], env);
    expect(table.stdout).toMatch(/^ID\s+NAME\s+CREATED\s+LAST SEEN\s+MAC\n/);
    expect(table.stdout).toContain(MAC);

    const rotated = await runVoxgate(['device', 'rotate-token', printed.id!, '--json'], env);
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(JSON.parse(rotated.stdout)).toMatchObject({ id: printed.id, mac: MAC });

    const again = await runVoxgate(['device', 'claim', code], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already used/);

    expect((await runVoxgate(['device', 'remove', printed.id!], env)).code).toBe(0);
    expect((await runVoxgate(['device', 'list', '--json'], env)).stdout.trim()).toBe('[]');
  });

  it('claim (human form) says the device was paired; unknown codes are refused and then rate limited', async () => {
    const dataDir = tempDir();
    const env = { VOXGATE_DATA_DIR: dataDir };
    const code = pendingCode(dataDir);
    const wrong = code === '123456' ? '654321' : '123456';
    const unknown = await runVoxgate(['device', 'claim', wrong], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no pairing code "\d{6}"/);
    for (let i = 0; i < 4; i++) expect((await runVoxgate(['device', 'claim', wrong], env)).code).toBe(1);
    const limited = await runVoxgate(['device', 'claim', code], env);
    expect(limited.code).toBe(1);
    expect(limited.stderr).toMatch(/too many failed claims/);

    const other = tempDir();
    const ok = await runVoxgate(['device', 'claim', pendingCode(other)], { VOXGATE_DATA_DIR: other });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain(`Paired: device xiaozhi-a0b1c2d3e4f5 ("bread-compact-wifi"), MAC ${MAC}.`);
  });

  it('add --mac pre-registers stock firmware and tells where to point its OTA URL', async () => {
    const dataDir = tempDir();
    const env = { VOXGATE_DATA_DIR: dataDir, VOXGATE_PUBLIC_URL: 'http://voxgate.lan:8080' };
    const added = await runVoxgate(['device', 'add', 'desk', '--mac', 'A0-B1-C2-D3-E4-F5'], env);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toContain(`Added device desk ("desk") with MAC ${MAC}.`);
    expect(added.stdout).toContain('http://voxgate.lan:8080/xiaozhi/ota/');

    const json = await runVoxgate(['device', 'add', 'other', '--mac', 'a0:b1:c2:d3:e4:f6', '--json'], env);
    expect(Object.keys(JSON.parse(json.stdout)).sort()).toEqual(['id', 'mac', 'name', 'token']);

    const duplicate = await runVoxgate(['device', 'add', 'third', '--mac', MAC], env);
    expect(duplicate.code).toBe(1);
    expect(duplicate.stderr).toMatch(/MAC a0:b1:c2:d3:e4:f5 already exists/);
    const invalid = await runVoxgate(['device', 'add', 'fourth', '--mac', 'not-a-mac'], env);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/invalid MAC address/);
  });
});
