/**
 * A real Mosquitto for the external-broker tests, configured the way docs/external-broker.md tells
 * users to: password file made with `mosquitto_passwd -b` (or given whole), the documented ACL
 * read from the doc itself, loopback listener, and a pid file for SIGHUP reloads.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { requireProgram } from '../helpers/system-programs.ts';

const EXTERNAL_BROKER_DOC = new URL('../../docs/external-broker.md', import.meta.url);

/** A fenced ACL block of docs/external-broker.md, found by its `<!-- acl:<name>` marker. */
export function documentedAcl(name: 'main' | 'ha-addon'): string {
  const doc = readFileSync(EXTERNAL_BROKER_DOC, 'utf8');
  const marker = doc.indexOf(`<!-- acl:${name}`);
  if (marker < 0) throw new Error(`docs/external-broker.md has no ACL block marked acl:${name}`);
  const block = /```\n([\s\S]*?)```/.exec(doc.slice(marker));
  if (!block) throw new Error(`no fenced block after acl:${name}`);
  return block[1]!;
}

/** The documented ACL (its gateway login renamed to `gatewayUser`), plus a test observer that may read every voxgate topic. */
export function voxgateAcl(gatewayUser: string, observerUser: string): string {
  return [documentedAcl('main').replaceAll('voxgate-gateway', gatewayUser), `user ${observerUser}`, 'topic read voxgate/#', ''].join('\n');
}

export interface Mosquitto {
  host: string;
  port: number;
  url: string;
  /** Its `pid_file` (what `voxgate device mosquitto-passwd --reload` signals). */
  pidFile: string;
  /** Its `password_file`. */
  passwordFile: string;
  /** Mosquitto's own log (errors, warnings, notices) so far. */
  log(): string;
  stop(): Promise<void>;
  /** Stops the broker process but keeps its files, so `restart()` brings it back on the same port. */
  kill(): Promise<void>;
  /**
   * Stops the broker if it runs (SIGTERM: its clients lose their connections), waits `downMs`, and
   * starts it again, same port and accounts (no retained messages: persistence is off).
   */
  restart(downMs?: number): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitForListener(port: number, child: ChildProcess, log: () => string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`mosquitto exited (${child.exitCode}): ${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`mosquitto did not listen on ${port}: ${log()}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** `users` are hashed with mosquitto_passwd; a string is taken as the password file's whole text. */
export async function startMosquitto(users: Record<string, string> | string, acl: string): Promise<Mosquitto> {
  // Both come with Debian's mosquitto package; looked up before anything is written.
  const mosquittoBin = requireProgram('mosquitto', 'mosquitto');
  const passwdBin = requireProgram('mosquitto_passwd', 'mosquitto');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'voxgate-mosquitto-'));
  const passwordFile = path.join(dir, 'passwd');
  const aclFile = path.join(dir, 'acl');
  const pidFile = path.join(dir, 'mosquitto.pid');
  if (typeof users === 'string') {
    writeFileSync(passwordFile, users, { mode: 0o600 });
  } else {
    let first = true;
    for (const [user, password] of Object.entries(users)) {
      execFileSync(passwdBin, [...(first ? ['-c'] : []), '-b', passwordFile, user, password]);
      first = false;
    }
  }
  writeFileSync(aclFile, acl);
  const port = await freePort();
  const config = [
    `listener ${port} 127.0.0.1`,
    'allow_anonymous false',
    `password_file ${passwordFile}`,
    `acl_file ${aclFile}`,
    'persistence false',
    `pid_file ${pidFile}`,
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    'log_type notice',
    // Started as root (containers), mosquitto would switch to a `mosquitto` user that cannot read our temp dir.
    ...(process.getuid?.() === 0 ? ['user root'] : []),
  ].join('\n');
  const configFile = path.join(dir, 'mosquitto.conf');
  writeFileSync(configFile, `${config}\n`);

  let stderr = '';
  const launch = async (): Promise<ChildProcess> => {
    const child = spawn(mosquittoBin, ['-c', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
    try {
      await waitForListener(port, child, () => stderr);
    } catch (err) {
      child.kill('SIGKILL');
      throw err;
    }
    return child;
  };
  const end = async (child: ChildProcess) => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  };
  let child: ChildProcess;
  try {
    child = await launch();
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    host: '127.0.0.1',
    port,
    url: `mqtt://127.0.0.1:${port}`,
    pidFile,
    passwordFile,
    log: () => stderr,
    async stop() {
      await end(child);
      rmSync(dir, { recursive: true, force: true });
    },
    kill: () => end(child),
    async restart(downMs = 0) {
      await end(child);
      await new Promise((resolve) => setTimeout(resolve, downMs));
      child = await launch();
    },
  };
}
