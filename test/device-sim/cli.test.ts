/** The `voxgate-sim` command line, spawned as a user would run it. */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { parseWav, type SimTransport } from '../../device-sim/index.ts';
import { startFakeGateway, tokenFor, type FakeGateway } from './fake-gateway.ts';
import { TTS_SAMPLES_DIR } from '../helpers/fixture-paths.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bin/voxgate-sim.js');
const WAV_22K = path.join(TTS_SAMPLES_DIR, 'armstrong-piper-en_US-lessac-medium.wav');
/** Generous: tsx compiles on start, and CI machines are loaded. */
const CLI_TIMEOUT_MS = 60_000;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function sim(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: ROOT, timeout: CLI_TIMEOUT_MS, env: { ...process.env, VOXGATE_SIM_URL: '', VOXGATE_SIM_DEVICE: '', VOXGATE_SIM_TOKEN: '', ...env } },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }),
    );
  });
}

const tmp = mkdtempSync(path.join(tmpdir(), 'voxgate-sim-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let fake: FakeGateway | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

const connection = (url: string, device = 'cli-1') => ['--url', url, '--device', device, '--token', tokenFor(device)];

describe('voxgate-sim --help and argument checks', () => {
  it('prints help for the program and for talk, exit 0', async () => {
    const top = await sim(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/talk \[options\]/);
    const talk = await sim(['talk', '--help']);
    expect(talk.code).toBe(0);
    for (const flag of ['--transport', '--url', '--device', '--token', '--wav', '--codec', '--frame-ms', '--reply-rate', '--out', '--json', '--speed', '--text', '--abort-after', '--prefix']) {
      expect(talk.stdout).toContain(flag);
    }
    expect(talk.stdout).toMatch(/VOXGATE_SIM_URL/);
    expect(talk.stdout).toMatch(/Exit codes/);
  });

  it.each([
    [['talk', '--transport', 'ws', '--device', 'd', '--token', 't', '--text', 'hi'], /required option '--url/],
    [['talk', '--transport', 'ws', ...connection('ws://127.0.0.1:1'), '--wav', WAV_22K, '--text', 'hi'], /exactly one of --wav and --text/],
    [['talk', '--transport', 'ws', ...connection('ws://127.0.0.1:1')], /exactly one of --wav and --text/],
    [['talk', '--transport', 'ws', ...connection('mqtt://127.0.0.1:1'), '--text', 'hi'], /must start with ws:\/\//],
    [['talk', '--transport', 'carrier-pigeon', ...connection('ws://127.0.0.1:1'), '--text', 'hi'], /Allowed choices are ws, mqtt/],
    [['talk', '--transport', 'ws', ...connection('ws://127.0.0.1:1'), '--text', 'hi', '--frame-ms', '30'], /opus frame duration 30 ms/],
    [['talk', '--transport', 'ws', ...connection('ws://127.0.0.1:1'), '--text', 'hi', '--reply-rate', '44100'], /16000 or 24000/],
    [['talk', '--transport', 'ws', ...connection('ws://127.0.0.1:1'), '--text', 'hi', '--speed', '0'], /--speed.*> 0/],
    [['talk', '--transport', 'ws', '--url', 'ws://127.0.0.1:1', '--device', 'bad/id', '--token', 't', '--text', 'hi'], /--device/],
    [['talk', '--transport', 'mqtt', ...connection('mqtt://127.0.0.1:1'), '--text', 'hi', '--prefix', 'a/#'], /--prefix/],
    [['talk', '--transport', 'ws', ...connection('ws://127.0.0.1:1'), '--wav', '/no/such/file.wav'], /--wav \/no\/such\/file.wav: ENOENT/],
  ])('refuses %j with exit 2', async (args, message) => {
    const run = await sim(args);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
  });
});

describe('voxgate-sim talk exit codes', () => {
  it('exits 1 with a JSON report when nothing listens', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const run = await sim(['talk', '--transport', 'ws', ...connection(`ws://127.0.0.1:${port}`), '--text', 'hi', '--json']);
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout);
    expect(report).toMatchObject({ ok: false, issues: [{ kind: 'connection' }] });
    expect(report.issues[0].message).toMatch(/refused/);
  });

  describe.each<[SimTransport, string]>([
    ['websocket', 'ws'],
    ['mqtt', 'mqtt'],
  ])('over %s', (transport, flag) => {
    it('plays a WAV turn, prints one JSON object and writes the reply, exit 0', async () => {
      fake = await startFakeGateway(transport);
      const out = path.join(tmp, `reply-${flag}.wav`);
      const run = await sim(['talk', '--transport', flag, ...connection(fake.url), '--wav', WAV_22K, '--speed', '20', '--codec', 'pcm16', '--reply-rate', '24000', '--json', '--out', out]);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      const report = JSON.parse(run.stdout);
      expect(report).toMatchObject({
        ok: true,
        device: 'cli-1',
        transport,
        sessionId: 'S-cli-1',
        turn: 1,
        partials: ['hello'],
        final: 'hello world',
        sentences: ['Hi there.', 'How can I help?'],
        stopReason: 'done',
        errors: [],
        issues: [],
        micFrames: 63,
        replyAudio: { sampleRate: 24000, packets: 8, durationMs: 480 },
        out,
      });
      for (const key of ['releaseToFinalMs', 'releaseToFirstAudioMs', 'totalMs']) expect(report.timings[key]).toBeGreaterThanOrEqual(0);
      const wav = parseWav(readFileSync(out));
      expect(wav.sampleRate).toBe(24000);
      expect(wav.channels[0]!.length).toBe(8 * 1440);
    });

    it('prints a typed turn for a person, reading the connection from the environment', async () => {
      fake = await startFakeGateway(transport);
      const run = await sim(['talk', '--transport', flag, '--text', 'what time is it'], {
        VOXGATE_SIM_URL: fake.url,
        VOXGATE_SIM_DEVICE: 'env-dev',
        VOXGATE_SIM_TOKEN: tokenFor('env-dev'),
      });
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/connected as env-dev/);
      expect(run.stdout).toMatch(/reply: Hi there\.\nreply: How can I help\?/);
      expect(run.stdout).toMatch(/turn 9000 ended: done/);
      expect(run.stdout).toMatch(/timings: release → final —, release → first reply audio \d+ ms, total \d+ ms/);
    });

    it('exits 1 when the gateway sends an error message', async () => {
      fake = await startFakeGateway(transport, { errorAfterFinal: 'stt_unavailable' });
      const run = await sim(['talk', '--transport', flag, ...connection(fake.url), '--wav', WAV_22K, '--speed', '20']);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/protocol issue: gateway_error \(turn 1\): stt_unavailable: scripted failure/);
      expect(run.stdout).toMatch(/turn 1 ended: error/);
    });

    it('exits 1 when the gateway sends an invalid message', async () => {
      fake = await startFakeGateway(transport, { rawAfterHello: ['{"type":"tts","state":"start"}'] });
      const run = await sim(['talk', '--transport', flag, ...connection(fake.url), '--text', 'hi', '--json']);
      expect(run.code).toBe(1);
      const report = JSON.parse(run.stdout);
      expect(report.ok).toBe(false);
      expect(report.stopReason).toBe('done'); // the turn itself completed
      expect(report.issues).toEqual([expect.objectContaining({ kind: 'invalid_message' })]);
    });

    it('exits 1 on bad credentials', async () => {
      fake = await startFakeGateway(transport);
      const run = await sim(['talk', '--transport', flag, '--url', fake.url, '--device', 'cli-1', '--token', 'wrong', '--text', 'hi']);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/protocol issue: connection: .*(401|CONNACK 4)/);
    });
  });
});
