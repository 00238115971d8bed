/**
 * A real Mosquitto for the external-broker tests, configured the way MOSQUITTO.md tells users to:
 * password file made with `mosquitto_passwd -b`, pattern ACL on `%u`, loopback listener.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { requireProgram } from '../helpers/system-programs.ts';

/** The ACL of MOSQUITTO.md (devices: own up/ write, own down/ + gateway state read), plus a test observer. */
export function voxgateAcl(gatewayUser: string, observerUser: string): string {
  return [
    '# every device (username = device id): its own topics only',
    'pattern write voxgate/%u/up/#',
    'pattern read voxgate/%u/down/#',
    'pattern read voxgate/gateway/state',
    '',
    `user ${gatewayUser}`,
    'topic readwrite voxgate/#',
    '',
    `user ${observerUser}`,
    'topic read voxgate/#',
    '',
  ].join('\n');
}

export interface Mosquitto {
  host: string;
  port: number;
  url: string;
  /** Stops the broker (SIGTERM: its clients lose their connections), waits `downMs`, and starts it again on the same port. */
  restart(downMs?: number): Promise<void>;
  stop(): Promise<void>;
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

export async function startMosquitto(users: Record<string, string>, acl: string): Promise<Mosquitto> {
  // Both come with Debian's mosquitto package; looked up before anything is written.
  const mosquittoBin = requireProgram('mosquitto', 'mosquitto');
  const passwdBin = requireProgram('mosquitto_passwd', 'mosquitto');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'voxgate-mosquitto-'));
  const passwordFile = path.join(dir, 'passwd');
  const aclFile = path.join(dir, 'acl');
  let first = true;
  for (const [user, password] of Object.entries(users)) {
    execFileSync(passwdBin, [...(first ? ['-c'] : []), '-b', passwordFile, user, password]);
    first = false;
  }
  writeFileSync(aclFile, acl);
  const port = await freePort();
  const config = [
    `listener ${port} 127.0.0.1`,
    'allow_anonymous false',
    `password_file ${passwordFile}`,
    `acl_file ${aclFile}`,
    'persistence false',
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    // Started as root (containers), mosquitto would switch to a `mosquitto` user that cannot read our temp dir.
    ...(process.getuid?.() === 0 ? ['user root'] : []),
  ].join('\n');
  const configFile = path.join(dir, 'mosquitto.conf');
  writeFileSync(configFile, `${config}\n`);

  let stderr = '';
  const launch = async (): Promise<ChildProcess> => {
    const started = spawn(mosquittoBin, ['-c', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    started.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
    try {
      await waitForListener(port, started, () => stderr);
    } catch (err) {
      started.kill('SIGKILL');
      throw err;
    }
    return started;
  };
  const terminate = async (running: ChildProcess) => {
    if (running.exitCode === null && running.signalCode === null) {
      const exited = new Promise((resolve) => running.once('exit', resolve));
      running.kill('SIGTERM');
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
    async restart(downMs = 0) {
      await terminate(child);
      await new Promise((resolve) => setTimeout(resolve, downMs));
      child = await launch();
    },
    async stop() {
      await terminate(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
