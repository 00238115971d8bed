/**
 * The ready line is the readiness signal (issue 11 item 12): `{"msg":"ready",…}` is printed
 * at every log level, also `warn`, `error` and `silent`, once, with the bound ports.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { startGateway } from '../../gateway/app.ts';
import { loadConfig } from '../../gateway/config.ts';
import { createLogger } from '../../gateway/logger.ts';
import { FakeResponder } from '../fakes/fake-responder.ts';
import { FakeStt } from '../fakes/fake-stt.ts';
import { FakeTts } from '../fakes/fake-tts.ts';
import { useTempDirs } from '../helpers/temp-dir.ts';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const tempDir = useTempDirs('ready-line');
const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

describe('the ready line', () => {
  it.each(['silent', 'error', 'warn', 'info'] as const)('is printed once at log level %s', async (level) => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = createLogger(level, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    const config = loadConfig({ env: {}, overrides: { dataDir: tempDir(), host: '127.0.0.1', httpPort: 0, mqttPort: 0, 'wyoming.port': 'off', logLevel: level } });
    const gateway = await startGateway(config, { logger, engines: { stt: new FakeStt(), tts: new FakeTts(), responder: new FakeResponder() } });
    cleanup.push(() => gateway.stop());
    const ready = lines.filter((l) => l.msg === 'ready');
    expect(ready).toEqual([expect.objectContaining({ msg: 'ready', httpPort: gateway.httpPort, mqttPort: gateway.mqttPort })]);
    // The level still quiets everything else.
    if (level !== 'info') expect(lines.filter((l) => l.msg !== 'ready' && (l.level as number) < 40)).toEqual([]);
  });

  it('`voxgate start` with VOXGATE_LOG_LEVEL=silent prints it on stdout', async () => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(VOXGATE_|GROQ_)/.test(name)));
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'voxgate.js'), 'start'], {
      cwd: REPO_ROOT,
      env: {
        ...env,
        VOXGATE_LOG_LEVEL: 'silent',
        VOXGATE_DATA_DIR: tempDir(),
        VOXGATE_HOST: '127.0.0.1',
        VOXGATE_HTTP_PORT: '0',
        VOXGATE_MQTT_PORT: '0',
        VOXGATE_STT: 'groq',
        VOXGATE_TTS: 'espeak',
        VOXGATE_AUTO_PULL: 'off',
        VOXGATE_WYOMING_PORT: 'off',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    cleanup.push(async () => {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    });
    const deadline = Date.now() + 30_000;
    while (!stdout.includes('\n') && child.exitCode === null && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    const lines = stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines, stderr).toEqual([expect.objectContaining({ msg: 'ready', httpPort: expect.any(Number), mqttPort: expect.any(Number) })]);
    expect((await fetch(`http://127.0.0.1:${lines[0]!.httpPort as number}/health`)).status).toBe(200);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stdout.split('\n').filter(Boolean)).toHaveLength(1); // silent: nothing else, not even `stopping`
  }, 40_000);
});
