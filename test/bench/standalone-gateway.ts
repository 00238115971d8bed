/**
 * The gateway as users run it (`voxgate start`, the compiled dist/) in a process of its own,
 * for the figures that must be the gateway's alone: its idle RSS, and the memory each idle
 * device adds. Its memory and connected devices are read from its own /metrics (process RSS,
 * V8 heap); a full garbage collection is asked for through its inspector (started on a free
 * loopback port), so figures are not the garbage of the moment.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const GATEWAY_BIN = path.join(REPO_ROOT, 'bin/voxgate.js');
const READY_LIMIT_MS = 120_000;
const STOP_LIMIT_MS = 30_000;

export interface StandaloneGateway {
  readonly pid: number;
  readonly dataDir: string;
  readonly mqttUrl: string;
  /** Full garbage collection in the gateway (twice, so that finalizers' garbage goes too). */
  collectGarbage(): Promise<void>;
  /** Resident set size, V8 heap used, and connected devices by transport, from its /metrics. */
  usage(): Promise<{ rss: number; heapUsed: number; devices: Record<string, number> }>;
  stop(): Promise<void>;
}

/** Starts `voxgate start` with `env` (plus a temp data dir and free loopback ports) and waits for its ready line. */
export async function startStandaloneGateway(env: Record<string, string>): Promise<StandaloneGateway> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'voxgate-bench-standalone-'));
  const child = spawn(process.execPath, ['--inspect=127.0.0.1:0', GATEWAY_BIN, 'start'], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', ...env, VOXGATE_DATA_DIR: dataDir, VOXGATE_HOST: '127.0.0.1', VOXGATE_HTTP_PORT: '0', VOXGATE_MQTT_PORT: '0', VOXGATE_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    const { ready, inspector } = await waitForReady(child);
    const httpPort = Number(ready.httpPort);
    const socket = new WebSocket(inspector);
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    let nextId = 1;
    const call = (method: string) =>
      new Promise<void>((resolve) => {
        const id = nextId++;
        const onMessage = (data: Buffer) => {
          if ((JSON.parse(data.toString()) as { id?: number }).id !== id) return;
          socket.off('message', onMessage);
          resolve();
        };
        socket.on('message', onMessage);
        socket.send(JSON.stringify({ id, method }));
      });
    return {
      pid: child.pid!,
      dataDir,
      mqttUrl: `mqtt://127.0.0.1:${Number(ready.mqttPort)}`,
      async collectGarbage() {
        await call('HeapProfiler.collectGarbage');
        await call('HeapProfiler.collectGarbage');
      },
      async usage() {
        const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
        const metric = (name: string) => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? NaN);
        const devices: Record<string, number> = {};
        for (const [, transport, n] of text.matchAll(/^voxgate_connected_devices\{transport="(\w+)"\} (\S+)/gm)) devices[transport!] = Number(n);
        return { rss: metric('process_resident_memory_bytes'), heapUsed: metric('nodejs_heap_size_used_bytes'), devices };
      },
      async stop() {
        socket.close();
        await stopChild(child);
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await stopChild(child);
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
}

/** Reads the inspector URL (stderr) and the ready line (stdout, JSON). */
function waitForReady(child: ChildProcess): Promise<{ ready: Record<string, unknown>; inspector: string }> {
  return new Promise((resolve, reject) => {
    let inspector: string | undefined;
    let ready: Record<string, unknown> | undefined;
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => reject(new Error(`voxgate start: no ready line in ${READY_LIMIT_MS / 1000} s: ${stderr.slice(-2000)}`)), READY_LIMIT_MS);
    const check = () => {
      if (!inspector || !ready) return;
      clearTimeout(timer);
      child.stdout!.resume(); // keep draining its log
      resolve({ ready, inspector });
    };
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-20_000);
      inspector ??= /Debugger listening on (ws:\/\/\S+)/.exec(stderr)?.[1];
      check();
    });
    child.stdout!.on('data', (chunk: Buffer) => {
      if (ready) return;
      stdout += chunk.toString();
      for (const line of stdout.split('\n')) {
        if (!line.includes('"msg":"ready"')) continue;
        ready = JSON.parse(line) as Record<string, unknown>;
        stdout = '';
        return check();
      }
      stdout = stdout.slice(stdout.lastIndexOf('\n') + 1);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`voxgate start exited (${code}) before it was ready: ${stderr.slice(-2000)}`));
    });
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_LIMIT_MS);
  await exited;
  clearTimeout(timer);
}
