/**
 * The real executables for end-to-end tests: `voxgate start` (bin/voxgate.js, the compiled
 * dist/ as `npm start` runs it; needs a fresh `npm run build`) and `voxgate-sim`, each with an
 * environment cleaned of the caller's VOXGATE_/GROQ_ variables.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from './harness.ts';

export const VOXGATE = path.join(REPO_ROOT, 'bin', 'voxgate.js');
export const VOXGATE_SIM = path.join(REPO_ROOT, 'bin', 'voxgate-sim.js');
export const READY_TIMEOUT_MS = 60_000;

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function cleanEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(VOXGATE_|GROQ_)/.test(name)));
  return { ...base, ...env };
}

/** Runs a bin to its end; `onStderr` sees its stderr so far as it arrives (the pairing code). */
export function run(bin: string, args: string[], env: Record<string, string>, onStderr?: (text: string) => void): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: REPO_ROOT, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      onStderr?.(stderr);
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The parsed ready line of a starting `voxgate start` (everything it printed is kept in `output`). */
export function waitForReady<T = { httpPort: number }>(child: ChildProcessWithoutNullStreams, output: { text: string }): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line within ${READY_TIMEOUT_MS} ms:\n${output.text}`)), READY_TIMEOUT_MS);
    const check = () => {
      const line = output.text.split('\n').find((l) => l.includes('"msg":"ready"'));
      if (!line) return;
      clearTimeout(timer);
      child.stdout.off('data', check);
      resolve(JSON.parse(line) as T);
    };
    child.stdout.on('data', check);
    child.once('exit', (code) => reject(new Error(`voxgate start exited with ${code} before ready:\n${output.text}`)));
  });
}

/** `voxgate start` with `env`; its stdout and stderr collect in the returned `output`. */
export function startVoxgate(env: Record<string, string>): { child: ChildProcessWithoutNullStreams; output: { text: string } } {
  const output = { text: '' };
  const child = spawn(process.execPath, [VOXGATE, 'start'], { cwd: REPO_ROOT, env: cleanEnv(env), stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output.text += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output.text += chunk));
  return { child, output };
}

/** Kills a still running gateway (SIGKILL) and waits for it. */
export async function killVoxgate(child: ChildProcessWithoutNullStreams | undefined): Promise<void> {
  if (!child || child.exitCode !== null) return;
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
}
