/**
 * Memory per idle connected device: N MQTT wearables (loopback, a bounded number connecting
 * at a time) connect, say hello and stay quiet; the gateway's RSS and JS heap are measured
 * after a GC before and once all N sessions are up, and the difference is divided by N.
 * The devices live in a child process (`voxgate-sim load --idle`), so only the gateway's side
 * of each connection is counted.
 */
import type { BenchGateway } from './bench-gateway.ts';
import { startLoad } from './load-child.ts';
import { collectGarbage, MB } from './process-usage.ts';

export interface IdleOptions {
  devices: number;
  connectConcurrency: number;
  /** Bound on registering and connecting them all. */
  connectLimitMs: number;
}

export interface IdleResult {
  transport: 'mqtt';
  requested: number;
  connected: number;
  /** Time from starting the load process (registering the devices included) to all sessions up. */
  connectS: number;
  rssBeforeMb: number;
  rssAfterMb: number;
  rssPerDeviceKb: number | null;
  heapPerDeviceKb: number | null;
  /** Anything that kept the figure from being complete (limit hit, connect failures). */
  notes: string[];
}

/** How often the session count is polled while devices connect. */
const POLL_MS = 500;
/** Lets the last sessions' start-up work (store writes, buffers) settle before measuring. */
const SETTLE_MS = 2_000;
/** After the devices say goodbye the sessions close; wait at most this long for them. */
const DRAIN_LIMIT_MS = 30_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function runIdlePhase(bench: BenchGateway, options: IdleOptions): Promise<IdleResult> {
  const sessions = () => bench.gateway.sessions.connectedDevices().filter((d) => d.deviceId.startsWith('idle-')).length;
  collectGarbage();
  const before = process.memoryUsage();
  const started = performance.now();
  const holdS = Math.ceil((options.connectLimitMs + SETTLE_MS + DRAIN_LIMIT_MS) / 1000);
  const child = startLoad(
    [
      ...['--transport', 'mqtt', '--url', bench.url('mqtt'), '--idle', '--duration', String(holdS)],
      ...['--register', '--data-dir', bench.config.dataDir, '--id-prefix', 'idle-', '--devices', String(options.devices)],
      ...['--connect-concurrency', String(options.connectConcurrency), '--start-spread', '0'],
    ],
    (holdS + 60) * 1000,
  );
  const notes: string[] = [];
  let exited = false;
  void child.report.finally(() => (exited = true)).catch(() => {});
  while (sessions() < options.devices && !exited && performance.now() - started < options.connectLimitMs) await sleep(POLL_MS);
  const connectS = Math.round((performance.now() - started) / 100) / 10;
  await sleep(SETTLE_MS);
  const connected = sessions();
  collectGarbage();
  const after = process.memoryUsage();
  if (connected < options.devices) notes.push(`only ${connected} of ${options.devices} connected${exited ? ' (the load process ended early)' : ` within ${options.connectLimitMs / 1000} s`}`);
  try {
    const report = await child.stop();
    if (report.connect.failed > 0) notes.push(`${report.connect.failed} connect failure(s), e.g. ${report.connect.failures[0] ?? '?'}`);
  } catch (error) {
    notes.push((error as Error).message);
  }
  const drainStart = performance.now();
  while (sessions() > 0 && performance.now() - drainStart < DRAIN_LIMIT_MS) await sleep(POLL_MS);
  const perDeviceKb = (bytes: number) => (connected > 0 ? Math.round(bytes / 1024 / connected) : null);
  return {
    transport: 'mqtt',
    requested: options.devices,
    connected,
    connectS,
    rssBeforeMb: Math.round((before.rss / MB) * 10) / 10,
    rssAfterMb: Math.round((after.rss / MB) * 10) / 10,
    rssPerDeviceKb: perDeviceKb(after.rss - before.rss),
    heapPerDeviceKb: perDeviceKb(after.heapUsed - before.heapUsed),
    notes,
  };
}
