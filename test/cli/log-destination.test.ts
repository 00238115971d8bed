/**
 * A log reader that stalls or goes away must not stop the gateway (issue 11 item 10): the real
 * `voxgate start` (compiled bin/) with stdout a pipe nobody reads, then one that was closed, keeps
 * serving a WebSocket device (hello, ping), counts the lines it dropped, says so once stdout is
 * read again, and exits within 10 s of SIGTERM while stdout is still full.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from '../../gateway/store/index.ts';
import { fixtureModels } from '../fixtures/speech-fixtures.ts';
import { REPO_ROOT } from '../helpers/fixture-paths.ts';
import { eventually } from '../transport/helpers.ts';

const VOXGATE = path.join(REPO_ROOT, 'bin', 'voxgate.js');
const READY_TIMEOUT_MS = 60_000;
/** What the issue asks: gone within 10 s of SIGTERM, whatever stdout does. */
const EXIT_LIMIT_MS = 10_000;

const started: Array<{ child: ChildProcessWithoutNullStreams; dataDir: string }> = [];
afterEach(async () => {
  for (const { child, dataDir } of started.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    rmSync(dataDir, { recursive: true, force: true });
  }
});

interface Gateway {
  child: ChildProcessWithoutNullStreams;
  httpPort: number;
  token: string;
  /** stdout read so far (only while it is being read). */
  output: { text: string };
}

async function startGateway(): Promise<Gateway> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'voxgate-log-stall-'));
  const store = openStore(dataDir);
  const { token } = store.devices.add('wearable-1');
  store.close();
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(VOXGATE_|GROQ_)/.test(name)));
  const child = spawn(process.execPath, [VOXGATE, 'start'], {
    cwd: REPO_ROOT,
    env: {
      ...env,
      VOXGATE_DATA_DIR: dataDir,
      VOXGATE_HOST: '127.0.0.1',
      VOXGATE_HTTP_PORT: '0',
      VOXGATE_MQTT_PORT: '0',
      // debug: every refused HTTP request is a line, so the test can fill a pipe quickly.
      VOXGATE_LOG_LEVEL: 'debug',
      VOXGATE_STT: 'sherpa',
      VOXGATE_STT_MODEL: fixtureModels().asr,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  started.push({ child, dataDir });
  const output = { text: '' };
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const onData = (chunk: string) => (output.text += chunk);
  child.stdout.setEncoding('utf8').on('data', onData);
  const ready = await eventually(
    () => {
      if (child.exitCode !== null) throw new Error(`voxgate start exited (${child.exitCode}): ${stderr}${output.text}`);
      const line = output.text.split('\n').find((l) => l.includes('"msg":"ready"'));
      return line ? (JSON.parse(line) as { httpPort: number }) : undefined;
    },
    'the ready line',
    READY_TIMEOUT_MS,
  );
  return { child, httpPort: ready.httpPort, token, output };
}

/** Many refused requests with long paths (one debug line each, ~4 kB): megabytes of log in a second or two. */
async function floodLog(port: number, requests = 700): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  const longPath = `/no-such-route-${'x'.repeat(4000)}`;
  const one = () =>
    new Promise<void>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path: longPath, agent }, (res) => (res.resume(), res.on('end', resolve))).on('error', reject);
    });
  for (let i = 0; i < requests; i += 4) await Promise.all([one(), one(), one(), one()]);
  agent.destroy();
}

/** A WebSocket wearable says hello and gets a pong back: served. */
function helloPing(gateway: Gateway): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${gateway.httpPort}/v1/device`, { headers: { Authorization: `Bearer ${gateway.token}`, 'Device-Id': 'wearable-1' } });
    const types: string[] = [];
    const timer = setTimeout(() => (ws.terminate(), reject(new Error(`no hello/pong within 10 s (got ${types.join(', ')})`))), 10_000);
    ws.on('error', (err) => (clearTimeout(timer), reject(err)));
    ws.on('open', () => ws.send(JSON.stringify({ type: 'hello', version: 1, transport: 'websocket', audio_params: { format: 'pcm16', sample_rate: 16000, channels: 1, frame_duration: 60 } })));
    ws.on('message', (data) => {
      const message = JSON.parse(String(data)) as { type: string };
      types.push(message.type);
      if (message.type === 'hello') ws.send(JSON.stringify({ type: 'ping', id: 1 }));
      if (message.type === 'pong') {
        clearTimeout(timer);
        ws.close();
        resolve(types);
      }
    });
  });
}

async function droppedMetric(gateway: Gateway): Promise<number> {
  const body = await fetch(`http://127.0.0.1:${gateway.httpPort}/metrics`).then((r) => r.text());
  const match = /^voxgate_log_lines_dropped_total (\d+)/m.exec(body);
  if (!match) throw new Error('no voxgate_log_lines_dropped_total in /metrics');
  return Number(match[1]);
}

/** Milliseconds from SIGTERM to exit, and the exit code. */
async function sigterm(gateway: Gateway): Promise<{ ms: number; code: number | null }> {
  const exited = new Promise<number | null>((resolve) => gateway.child.once('exit', (code) => resolve(code)));
  const since = Date.now();
  gateway.child.kill('SIGTERM');
  const code = await Promise.race([exited, new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), EXIT_LIMIT_MS + 5_000))]);
  if (code === 'hung') throw new Error(`voxgate start still running ${EXIT_LIMIT_MS + 5_000} ms after SIGTERM`);
  return { ms: Date.now() - since, code };
}

describe('voxgate start with a log reader that stalls or goes away', { timeout: 180_000 }, () => {
  it('stdout nobody reads: devices are served, dropped lines are counted and reported, SIGTERM exits in time', async () => {
    const gateway = await startGateway();
    gateway.child.stdout.pause(); // from here on nobody reads: the pipe and then the gateway's buffer fill
    await floodLog(gateway.httpPort);
    await eventually(async () => (await droppedMetric(gateway)) > 0, 'lines dropped (the pipe is full)');
    expect(await helloPing(gateway)).toEqual(['hello', 'pong']);

    // Read again: the gateway says how much it lost.
    gateway.output.text = '';
    gateway.child.stdout.resume();
    const warning = await eventually(
      () => gateway.output.text.split('\n').find((l) => l.includes('log lines dropped')),
      'the dropped-lines warning',
      15_000,
    );
    expect((JSON.parse(warning) as { dropped: number }).dropped).toBeGreaterThan(0);

    // Stalled again, then SIGTERM.
    gateway.child.stdout.pause();
    const before = await droppedMetric(gateway);
    await floodLog(gateway.httpPort);
    await eventually(async () => (await droppedMetric(gateway)) > before, 'lines dropped again');
    const { ms, code } = await sigterm(gateway);
    console.info(`[log-destination] stalled stdout: SIGTERM → exit ${code} after ${ms} ms`);
    expect(ms).toBeLessThan(EXIT_LIMIT_MS);
    expect(code).toBe(0);
  });

  it('stdout closed by its reader: devices are served and SIGTERM exits in time', async () => {
    const gateway = await startGateway();
    gateway.child.stdout.destroy(); // the reader went away: writes fail with EPIPE from now on
    await floodLog(gateway.httpPort, 100);
    expect(await helloPing(gateway)).toEqual(['hello', 'pong']);
    expect(await droppedMetric(gateway)).toBeGreaterThan(0);
    const { ms, code } = await sigterm(gateway);
    console.info(`[log-destination] closed stdout: SIGTERM → exit ${code} after ${ms} ms`);
    expect(ms).toBeLessThan(EXIT_LIMIT_MS);
    expect(code).toBe(0);
  });
});
