/**
 * An external Mosquitto's accounts kept in step with voxgate's devices (docs/external-broker.md),
 * checked against the real mosquitto and mosquitto_passwd: the `$7$` hashes voxgate stores are
 * what mosquitto_passwd writes, `voxgate device mosquitto-passwd` (the real CLI, another process) writes
 * a file Mosquitto accepts, a SIGHUP after a removal or rotation drops the old logins, and the
 * documented ACL keeps service logins and the gateway from acting as wearables.
 */
import { execFileSync } from 'node:child_process';
import { pbkdf2Sync } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createTopics } from '../../protocol/index.ts';
import { goAuthPbkdf2Hash, mosquittoPasswordHash, openStore, parseMosquittoHash } from '../../gateway/store/index.ts';
import { AccountsError, parsePasswordFile, planPasswordFile, syncPasswordFile } from '../../gateway/transport/mosquitto-accounts.ts';
import { runVoxgate } from '../cli/run-voxgate.ts';
import { requireProgram } from '../helpers/system-programs.ts';
import { useTempDirs } from '../helpers/temp-dir.ts';
import { eventually } from './helpers.ts';
import { connackCode, connectClient, endAllClients, type TestClient } from './mqtt-clients.ts';
import { documentedAcl, startMosquitto, type Mosquitto } from './mosquitto.ts';

const tempDir = useTempDirs('mosquitto-accounts');
const topics = createTopics('voxgate');
const running = new Set<Mosquitto>();
afterEach(async () => {
  await endAllClients();
  await Promise.all([...running].map((m) => m.stop()));
  running.clear();
});
async function mosquitto(users: Record<string, string> | string, acl: string): Promise<Mosquitto> {
  const broker = await startMosquitto(users, acl);
  running.add(broker);
  return broker;
}

/** A password file made by mosquitto_passwd itself. */
function mosquittoPasswd(file: string, users: Record<string, string>): void {
  const bin = requireProgram('mosquitto_passwd', 'mosquitto');
  let first = true;
  for (const [user, password] of Object.entries(users)) {
    execFileSync(bin, [...(first ? ['-c'] : []), '-b', file, user, password]);
    first = false;
  }
}

const closed = (client: TestClient) => new Promise<void>((resolve) => (client.client.disconnected ? resolve() : client.client.once('close', () => resolve())));

describe('broker hashes', () => {
  it('are exactly what mosquitto_passwd writes for the same token and salt', () => {
    const file = path.join(tempDir(), 'passwd');
    mosquittoPasswd(file, { 'kitchen-1': 'the-token' });
    const written = parsePasswordFile(readFileSync(file, 'utf8')).get('kitchen-1')!;
    const parsed = parseMosquittoHash(written)!;
    expect(parsed.salt).toHaveLength(12);
    expect(mosquittoPasswordHash('the-token', parsed.salt)).toBe(written);
    expect(mosquittoPasswordHash('another-token', parsed.salt)).not.toBe(written);
  });

  it('convert to the PBKDF2 form mosquitto-go-auth (Home Assistant add-on) checks', () => {
    const hash = mosquittoPasswordHash('tok');
    const goAuth = goAuthPbkdf2Hash(hash)!;
    // mosquitto-go-auth's pbkdf2 Compare: PBKDF2$<algorithm>$<iterations>$<base64 salt>$<base64 key>, key length from the key.
    const [scheme, algorithm, iterations, salt, key] = goAuth.split('$');
    expect([scheme, algorithm, iterations]).toEqual(['PBKDF2', 'sha512', '101']);
    const expected = Buffer.from(key!, 'base64');
    expect(pbkdf2Sync('tok', Buffer.from(salt!, 'base64'), Number(iterations), expected.length, 'sha512').equals(expected)).toBe(true);
    expect(goAuthPbkdf2Hash('plain text')).toBeUndefined();
  });

  it('are stored when a device is added or rotated, and change with the token', () => {
    const store = openStore(tempDir());
    try {
      const { token } = store.devices.add('kitchen-1');
      const first = store.devices.brokerHashes()[0]!;
      expect(first.id).toBe('kitchen-1');
      const parsed = parseMosquittoHash(first.brokerHash!)!;
      expect(mosquittoPasswordHash(token, parsed.salt)).toBe(first.brokerHash);
      const rotated = store.devices.rotateToken('kitchen-1');
      const second = store.devices.brokerHashes()[0]!.brokerHash!;
      expect(mosquittoPasswordHash(rotated, parseMosquittoHash(second)!.salt)).toBe(second);
      expect(second).not.toBe(first.brokerHash);
    } finally {
      store.close();
    }
  });
});

describe('the password file plan', () => {
  const include = new Map([
    ['voxgate-gateway', '$7$101$aaaa$bbbb'],
    ['homeassistant', '$7$101$cccc$dddd'],
  ]);

  it('puts the include file’s logins first, then each device; keeps an old line for a device without a hash', () => {
    const plan = planPasswordFile(
      [
        { id: 'a', brokerHash: '$7$101$A$A' },
        { id: 'old', brokerHash: null },
        { id: 'lost', brokerHash: null },
      ],
      include,
      new Map([['old', '$7$101$O$O']]),
    );
    expect(plan.text).toBe('voxgate-gateway:$7$101$aaaa$bbbb\nhomeassistant:$7$101$cccc$dddd\na:$7$101$A$A\nold:$7$101$O$O\n');
    expect(plan).toMatchObject({ devices: ['a'], kept: ['old'], missing: ['lost'], included: ['voxgate-gateway', 'homeassistant'] });
  });

  it('refuses a device id that is also a login of the include file', () => {
    expect(() => planPasswordFile([{ id: 'homeassistant', brokerHash: '$7$101$A$A' }], include, new Map())).toThrow(AccountsError);
  });

  it('is written whole, keeping the old file’s mode, and only when it changed', () => {
    const dir = tempDir();
    const file = path.join(dir, 'voxgate.passwd');
    writeFileSync(file, 'stale:line\n', { mode: 0o640 });
    const devices = [{ id: 'a', brokerHash: '$7$101$A$A' }];
    const first = syncPasswordFile(devices, { file });
    expect(first.written).toBe(true);
    expect(readFileSync(file, 'utf8')).toBe('a:$7$101$A$A\n');
    expect(statSync(file).mode & 0o777).toBe(0o640);
    expect(syncPasswordFile(devices, { file }).written).toBe(false);
  });
});

describe('voxgate device mosquitto-passwd against a real Mosquitto', { timeout: 90_000 }, () => {
  it('writes logins Mosquitto accepts; after a rotation and a removal, --reload drops the old logins', async () => {
    const dir = tempDir();
    const dataDir = path.join(dir, 'data');
    const env = { VOXGATE_DATA_DIR: dataDir };
    const add = async (id: string) => JSON.parse((await runVoxgate(['device', 'add', id, '--json'], env)).stdout) as { token: string };
    const kitchen = await add('kitchen-1');
    const desk = await add('desk-2');
    const includeFile = path.join(dir, 'logins.passwd');
    mosquittoPasswd(includeFile, { 'voxgate-gateway': 'gateway-secret' });

    // Printed first (no --output): the include file's logins, then the devices.
    const printed = await runVoxgate(['device', 'mosquitto-passwd', '--include', includeFile], env);
    expect(printed.code, printed.stderr).toBe(0);
    expect([...parsePasswordFile(printed.stdout).keys()]).toEqual(['voxgate-gateway', 'desk-2', 'kitchen-1']);

    const broker = await mosquitto(printed.stdout, documentedAcl('main'));
    expect(await connackCode(broker.url, 'kitchen-1', kitchen.token)).toBe(0);
    expect(await connackCode(broker.url, 'desk-2', desk.token)).toBe(0);
    expect(await connackCode(broker.url, 'voxgate-gateway', 'gateway-secret')).toBe(0);
    expect(await connackCode(broker.url, 'kitchen-1', desk.token)).toBe(5);

    const kitchenOld = await connectClient(broker.url, 'kitchen-1', kitchen.token);
    const deskOld = await connectClient(broker.url, 'desk-2', desk.token);
    const gateway = await connectClient(broker.url, 'voxgate-gateway', 'gateway-secret');
    const rotated = JSON.parse((await runVoxgate(['device', 'rotate-token', 'kitchen-1', '--json'], env)).stdout) as { token: string };
    expect((await runVoxgate(['device', 'remove', 'desk-2'], env)).code).toBe(0);

    const synced = await runVoxgate(['device', 'mosquitto-passwd', '--include', includeFile, '--output', broker.passwordFile, '--reload', broker.pidFile], env);
    expect(synced.code, synced.stderr).toBe(0);
    expect(synced.stdout).toMatch(/Wrote 1 device login\(s\) after 1 from .*logins\.passwd to .*\. Sent SIGHUP to Mosquitto \(pid \d+\)\./);
    // Mosquitto re-checks every connected client on reload: the removed and the rotated ones go, the gateway stays.
    await Promise.all([closed(kitchenOld), closed(deskOld)]);
    expect(gateway.client.connected).toBe(true);
    expect(await connackCode(broker.url, 'kitchen-1', kitchen.token)).toBe(5);
    expect(await connackCode(broker.url, 'kitchen-1', rotated.token)).toBe(0);
    expect(await connackCode(broker.url, 'desk-2', desk.token)).toBe(5);

    const again = await runVoxgate(['device', 'mosquitto-passwd', '--include', includeFile, '--output', broker.passwordFile], env);
    expect(again.stdout).toContain('nothing to do');
  });

  it('refuses a device named like a login of the include file, and prints the add-on logins', async () => {
    const dir = tempDir();
    const env = { VOXGATE_DATA_DIR: path.join(dir, 'data') };
    const includeFile = path.join(dir, 'logins.passwd');
    mosquittoPasswd(includeFile, { homeassistant: 'ha-secret' });
    await runVoxgate(['device', 'add', 'homeassistant'], env);
    const clash = await runVoxgate(['device', 'mosquitto-passwd', '--include', includeFile], env);
    expect(clash.code).toBe(1);
    expect(clash.stderr).toContain('homeassistant');
    expect(clash.stderr).toContain('acts as that device');

    const addon = await runVoxgate(['device', 'mosquitto-passwd', '--format', 'ha-addon'], env);
    expect(addon.code, addon.stderr).toBe(0);
    expect(addon.stdout).toMatch(/^logins:\n {2}- username: homeassistant\n {4}password: "PBKDF2\$sha512\$101\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+"\n {4}password_pre_hashed: true\n$/);
  });
});

describe('the documented ACL on a real Mosquitto', { timeout: 60_000 }, () => {
  const USERS = { 'voxgate-gateway': 'gw', homeassistant: 'ha', addons: 'ad', 'kitchen-1': 'k1', 'desk-2': 'k2' };

  /** Publishes each [user, topic]; returns what the listeners got (a last allowed publish is the barrier). */
  async function probe(broker: Mosquitto, listeners: Record<string, string>, publishes: Array<[keyof typeof USERS, string]>) {
    const heard: Record<string, string[]> = {};
    for (const [user, filter] of Object.entries(listeners)) {
      const client = await connectClient(broker.url, user, USERS[user as keyof typeof USERS]);
      heard[user] = [];
      client.client.on('message', (topic, payload) => heard[user]!.push(`${topic} ${payload.toString()}`));
      await client.client.subscribeAsync(filter, { qos: 1 });
    }
    for (const [user, topic] of publishes) {
      const client = await connectClient(broker.url, user, USERS[user]);
      await client.client.publishAsync(topic, `from ${user}`, { qos: 1 });
      await client.client.endAsync();
    }
    return heard;
  }

  it('lets a wearable use only its own topics, and no service login or the gateway write an uplink', async () => {
    const broker = await mosquitto(USERS, documentedAcl('main'));
    const heard = await probe(broker, { 'voxgate-gateway': 'voxgate/+/up/#', 'desk-2': 'voxgate/desk-2/down/#', 'kitchen-1': 'voxgate/desk-2/down/#' }, [
      ['homeassistant', topics.upCtrl('kitchen-1')],
      ['homeassistant', topics.upCtrl('homeassistant')], // the %u pattern would have allowed this one
      ['voxgate-gateway', topics.upCtrl('kitchen-1')],
      ['voxgate-gateway', topics.upCtrl('voxgate-gateway')],
      ['kitchen-1', topics.upCtrl('desk-2')],
      ['homeassistant', topics.downCtrl('desk-2')],
      ['kitchen-1', topics.upCtrl('kitchen-1')],
      ['voxgate-gateway', topics.downCtrl('desk-2')],
    ]);
    await eventually(() => heard['desk-2']!.length > 0 && heard['voxgate-gateway']!.length > 0, 'the allowed messages');
    await new Promise((resolve) => setTimeout(resolve, 200)); // anything refused would have come by now
    expect(heard['voxgate-gateway']).toEqual([`${topics.upCtrl('kitchen-1')} from kitchen-1`]);
    expect(heard['desk-2']).toEqual([`${topics.downCtrl('desk-2')} from voxgate-gateway`]);
    expect(heard['kitchen-1']).toEqual([]); // another wearable's downlink stays unseen
  });

  it('keeps the Home Assistant add-on’s all-topics logins off the wearables’ topics', async () => {
    const acl = `${documentedAcl('ha-addon')}\n${documentedAcl('main').replace(/user homeassistant[\s\S]*$/, '')}`;
    const broker = await mosquitto(USERS, acl);
    const heard = await probe(broker, { 'voxgate-gateway': 'voxgate/+/up/#', homeassistant: '#', addons: 'voxgate/#' }, [
      ['homeassistant', topics.upCtrl('kitchen-1')],
      ['addons', topics.upAudio('kitchen-1')],
      ['voxgate-gateway', topics.downCtrl('kitchen-1')],
      ['homeassistant', 'homeassistant/status'],
      ['kitchen-1', topics.upCtrl('kitchen-1')],
    ]);
    await eventually(() => heard['voxgate-gateway']!.length > 0 && heard.homeassistant!.some((h) => h.startsWith('homeassistant/status')), 'the allowed messages');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(heard['voxgate-gateway']).toEqual([`${topics.upCtrl('kitchen-1')} from kitchen-1`]);
    expect(heard.homeassistant).toEqual(['homeassistant/status from homeassistant']); // no uplink or downlink of a wearable
    expect(heard.addons).toEqual([]);
  });
});
