/**
 * The README flow with the real executables: `voxgate start` on free ports (Groq pointed at
 * the loopback fake), `voxgate device add --json`, `voxgate-sim talk` typed and spoken over
 * WebSocket and MQTT, and SIGTERM stopping the gateway with exit 0.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeWav } from '../../device-sim/index.ts';
import { startFakeGroqServer, type FakeGroqServer } from '../fakes/fake-groq-server.ts';
import { fixtureModels } from '../fixtures/speech-fixtures.ts';
import { speechClip } from './audio.ts';
import { REPO_ROOT } from './harness.ts';
import { WyomingClient } from '../wyoming/wyoming-client.ts';

const VOXGATE = path.join(REPO_ROOT, 'bin', 'voxgate.js');
const VOXGATE_SIM = path.join(REPO_ROOT, 'bin', 'voxgate-sim.js');
/** Starting the gateway loads tsx, SQLite, the sherpa worker and espeak-ng: seconds on a loaded CI machine. */
const READY_TIMEOUT_MS = 60_000;
const ANSWER = 'Hello from the fake model. Have a nice day.';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The test's environment without any VOXGATE_* or GROQ_* setting, plus `env`. */
function cleanEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(VOXGATE_|GROQ_)/.test(name)));
  return { ...base, ...env };
}

function run(bin: string, args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: REPO_ROOT, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Resolves with the parsed `"msg":"ready"` log line of a starting gateway. */
function waitForReady(child: ChildProcessWithoutNullStreams, output: { text: string }): Promise<{ httpPort: number; mqttPort: number; wyomingPort: number | null }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line within ${READY_TIMEOUT_MS} ms:\n${output.text}`)), READY_TIMEOUT_MS);
    const check = () => {
      const line = output.text.split('\n').find((l) => l.includes('"msg":"ready"'));
      if (!line) return;
      clearTimeout(timer);
      child.stdout.off('data', check);
      resolve(JSON.parse(line) as { httpPort: number; mqttPort: number; wyomingPort: number | null });
    };
    child.stdout.on('data', check);
    child.once('exit', (code) => reject(new Error(`voxgate start exited with ${code} before ready:\n${output.text}`)));
  });
}

describe('README flow: voxgate start, device add, voxgate-sim talk', () => {
  let fake: FakeGroqServer;
  let dataDir: string;
  let gateway: ChildProcessWithoutNullStreams;
  const output = { text: '' };
  let env: Record<string, string>;
  let ports: { httpPort: number; mqttPort: number; wyomingPort: number | null };
  let token: string;
  let wav: string;

  beforeAll(async () => {
    fake = await startFakeGroqServer({ apiKey: 'gsk_cli_test' });
    fake.chat.setDefault({ type: 'text', text: ANSWER });
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'voxgate-e2e-cli-'));
    wav = path.join(dataDir, 'question.wav');
    await writeWav(wav, await speechClip(1.5), 16000);
    env = {
      VOXGATE_HTTP_PORT: '0',
      VOXGATE_MQTT_PORT: '0',
      VOXGATE_WYOMING_PORT: '0',
      VOXGATE_WYOMING_ZEROCONF: 'off',
      VOXGATE_HOST: '127.0.0.1',
      VOXGATE_DATA_DIR: dataDir,
      GROQ_API_KEY: 'gsk_cli_test',
      GROQ_BASE_URL: fake.baseUrl,
      // No real model can be downloaded here: the recognizer runs the committed fixture model,
      // and only it (no Groq Whisper fallback hiding a broken sherpa path). TTS stays the
      // default list: no sherpa voice is installed, so espeak-ng speaks, as on a fresh install.
      VOXGATE_STT: 'sherpa',
      VOXGATE_STT_MODEL: fixtureModels().asr,
      // Tests never download: the first-start model pull has its own test against a loopback server.
      VOXGATE_AUTO_PULL: 'off',
    };
    gateway = spawn(process.execPath, [VOXGATE, 'start'], { cwd: REPO_ROOT, env: cleanEnv(env), stdio: ['pipe', 'pipe', 'pipe'] });
    gateway.stdout.setEncoding('utf8').on('data', (chunk: string) => (output.text += chunk));
    gateway.stderr.setEncoding('utf8').on('data', (chunk: string) => (output.text += chunk));
    ports = await waitForReady(gateway, output);

    const added = await run(VOXGATE, ['device', 'add', 'd1', '--json'], env);
    expect(added.code, added.stderr).toBe(0);
    const device = JSON.parse(added.stdout) as { id: string; token: string };
    expect(device.id).toBe('d1');
    token = device.token;
  }, READY_TIMEOUT_MS + 30_000);

  afterAll(async () => {
    if (gateway && gateway.exitCode === null) {
      gateway.kill('SIGKILL');
      await new Promise((resolve) => gateway.once('exit', resolve));
    }
    await fake?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const url = (transport: 'ws' | 'mqtt') => (transport === 'ws' ? `ws://127.0.0.1:${ports.httpPort}` : `mqtt://127.0.0.1:${ports.mqttPort}`);
  const talk = (transport: 'ws' | 'mqtt', ...input: string[]) =>
    run(VOXGATE_SIM, ['talk', '--transport', transport, '--url', url(transport), '--device', 'd1', '--token', token, ...input, '--json'], {});

  it.each(['ws', 'mqtt'] as const)('a typed turn over %s gets the spoken answer (exit 0)', async (transport) => {
    const result = await talk(transport, '--text', 'hello');
    expect(result.code, result.stderr).toBe(0);
    const turn = JSON.parse(result.stdout);
    expect(turn).toMatchObject({ ok: true, device: 'd1', kind: 'typed', final: 'hello', stopReason: 'done', issues: [] });
    expect(turn.sentences).toEqual(['Hello from the fake model.', 'Have a nice day.']);
    expect(turn.replyAudio.durationMs).toBeGreaterThan(500); // espeak-ng speech
    expect(fake.chat.requests.at(-1)!.body.messages.at(-1)).toEqual({ role: 'user', content: 'hello' });
  }, 60_000);

  it.each(['ws', 'mqtt'] as const)('a spoken turn (--wav) over %s is transcribed and answered (exit 0)', async (transport) => {
    const result = await talk(transport, '--wav', wav, '--speed', '2');
    expect(result.code, result.stderr).toBe(0);
    const turn = JSON.parse(result.stdout);
    expect(turn).toMatchObject({ ok: true, kind: 'audio', stopReason: 'done', issues: [] });
    expect(turn.final).toBeTruthy();
    expect(turn.sentences).toEqual(['Hello from the fake model.', 'Have a nice day.']);
    expect(turn.replyAudio.durationMs).toBeGreaterThan(500);
    expect(fake.chat.requests.at(-1)!.body.messages.at(-1)).toEqual({ role: 'user', content: turn.final });
  }, 60_000);

  it('serves Home Assistant’s Wyoming describe on the port the ready line names', async () => {
    expect(ports.wyomingPort).toBeGreaterThan(0);
    const client = await WyomingClient.connect(ports.wyomingPort!);
    client.send('describe');
    const info = await client.next();
    client.close();
    expect(info).toMatchObject({ type: 'info', data: { asr: [expect.objectContaining({ name: 'voxgate', installed: true })] } });
  });

  it('stops on SIGTERM with exit code 0', async () => {
    const exited = new Promise<number | null>((resolve) => gateway.once('exit', (code) => resolve(code)));
    gateway.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output.text).toContain('"msg":"stopped"');
  }, 30_000);
});
