/**
 * Runs `voxgate-sim load` (the real CLI, bin/voxgate-sim.js) as a child process, so the
 * simulated devices' work is neither counted in the gateway's CPU and memory nor felt as the
 * gateway's event-loop lag. The child prints one JSON report on stdout.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoadReport } from '../../device-sim/load-report.ts';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SIM_BIN = path.join(REPO_ROOT, 'bin/voxgate-sim.js');
/** After SIGINT the devices say goodbye and close (each bounded by the simulator's close timeout). */
const STOP_GRACE_MS = 30_000;

export type LoadResult = LoadReport & { ok: boolean };

export interface LoadChild {
  readonly process: ChildProcess;
  /** Resolves with the report once the child has exited. */
  readonly report: Promise<LoadResult>;
  /** Asks the child to stop (SIGINT: it closes its devices and still reports), killing it if it does not. */
  stop(): Promise<LoadResult>;
}

/** Starts `voxgate-sim load --json ARGS`; the report rejects if the child is still running after `limitMs`. */
export function startLoad(args: readonly string[], limitMs: number): LoadChild {
  const child = spawn(process.execPath, [SIM_BIN, 'load', '--json', ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-4000)));
  let killTimer: NodeJS.Timeout | undefined;
  const limit = setTimeout(() => {
    child.kill('SIGINT');
    killTimer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
  }, limitMs);
  const report = new Promise<LoadResult>((resolve, reject) => {
    child.once('exit', (code, signal) => {
      clearTimeout(limit);
      clearTimeout(killTimer);
      const line = stdout.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(line) as LoadResult);
      } catch {
        reject(new Error(`voxgate-sim load exited (${signal ?? code}) without a report: ${stderr.trim() || stdout.trim()}`));
      }
    });
  });
  report.catch(() => {});
  return {
    process: child,
    report,
    stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGINT');
        killTimer ??= setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      }
      return report;
    },
  };
}
