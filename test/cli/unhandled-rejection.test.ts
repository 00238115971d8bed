/**
 * `voxgate start` survives a promise rejection nobody handled (issue 11 item 8): it logs it
 * and keeps serving. The real start command runs in a child process (tsx, the sources); on
 * SIGUSR2 the child rejects a promise that no one awaits, as a bug in a request would.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { useTempDirs } from '../helpers/temp-dir.ts';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const tempDir = useTempDirs('unhandled-rejection');
const kills: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const kill of kills.splice(0)) await kill();
});

async function until(check: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('voxgate start and unhandled rejections', () => {
  it('logs the rejection with its stack and keeps serving', async () => {
    const dir = tempDir();
    const script = path.join(dir, 'start-with-a-bug.mjs');
    const program = pathToFileURL(path.join(REPO_ROOT, 'gateway/cli/program.ts')).href;
    writeFileSync(
      script,
      [
        `import { runCli } from ${JSON.stringify(program)};`,
        `process.on('SIGUSR2', () => { Promise.reject(new Error('a stray failure nobody awaited')); });`,
        `const code = await runCli(['start']);`,
        `if (code !== 0) process.exit(code);`,
      ].join('\n'),
    );
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(VOXGATE_|GROQ_)/.test(name)));
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      cwd: REPO_ROOT,
      env: {
        ...env,
        VOXGATE_DATA_DIR: dir,
        VOXGATE_HOST: '127.0.0.1',
        VOXGATE_HTTP_PORT: '0',
        VOXGATE_MQTT_PORT: '0',
        VOXGATE_STT: 'groq',
        VOXGATE_TTS: 'espeak',
        VOXGATE_AUTO_PULL: 'off',
        VOXGATE_WYOMING_PORT: 'off',
        VOXGATE_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    kills.push(async () => {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    });
    const lines = () => output.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, any>);

    await until(() => lines().some((l) => l.msg === 'ready') || child.exitCode !== null, 'the ready line');
    const ready = lines().find((l) => l.msg === 'ready');
    expect(ready, output).toBeDefined();
    child.kill('SIGUSR2');
    await until(() => lines().some((l) => l.msg?.startsWith('unhandled promise rejection')) || child.exitCode !== null, 'the rejection logged', 10_000);
    const logged = lines().find((l) => l.msg?.startsWith('unhandled promise rejection'));
    expect(logged, output).toMatchObject({ level: 50, err: { message: 'a stray failure nobody awaited', stack: expect.stringContaining('start-with-a-bug.mjs') } });

    // Still serving, and still stops cleanly.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(child.exitCode).toBeNull();
    expect((await fetch(`http://127.0.0.1:${ready!.httpPort as number}/health`)).status).toBe(200);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 60_000);
});
