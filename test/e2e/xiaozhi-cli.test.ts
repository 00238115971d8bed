/**
 * Issue 12 with the real executables: `voxgate start` (as `npm start` runs it; Groq pointed at
 * the loopback fake, the fixture recognizer, espeak-ng, the fixture Silero VAD), then
 * `voxgate-sim talk --protocol xiaozhi` booting through the OTA URL: the pairing code it prints
 * is claimed with `voxgate device claim`, and turns run over protocol versions 2, 3 and 1 with
 * an MCP tool call, a barge-in and auto listening; `voxgate-sim load --protocol xiaozhi` too.
 */
import { type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeWav } from '../../device-sim/index.ts';
import { startFakeGroqServer, type FakeGroqServer } from '../fakes/fake-groq-server.ts';
import { fixtureModels } from '../fixtures/speech-fixtures.ts';
import { SILERO_VAD_MODEL } from '../helpers/fixture-paths.ts';
import { speechClip } from './audio.ts';
import { killVoxgate, READY_TIMEOUT_MS, run, startVoxgate, VOXGATE, VOXGATE_SIM, waitForReady, type Run } from './processes.ts';

const MAC = '02:c1:00:00:12:34';
const LONG_ANSWER = 'Once upon a time there was a small boat on a wide blue sea. It sailed from harbour to harbour every single day. The sailors sang songs as they worked.';

describe('stock xiaozhi firmware with the real executables', () => {
  let fake: FakeGroqServer;
  let dataDir: string;
  let gateway: ChildProcessWithoutNullStreams;
  let output: { text: string };
  let env: Record<string, string>;
  let ota: string;
  let wav: string;

  beforeAll(async () => {
    fake = await startFakeGroqServer({ apiKey: 'gsk_xiaozhi_cli' });
    fake.chat.setDefault({ type: 'text', text: 'Hello from the fake model.' });
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'voxgate-e2e-xiaozhi-'));
    wav = path.join(dataDir, 'question.wav');
    await writeWav(wav, await speechClip(1.5), 16000);
    env = {
      VOXGATE_HTTP_PORT: '0',
      VOXGATE_MQTT_PORT: '0',
      VOXGATE_HOST: '127.0.0.1',
      VOXGATE_DATA_DIR: dataDir,
      GROQ_API_KEY: 'gsk_xiaozhi_cli',
      GROQ_BASE_URL: fake.baseUrl,
      VOXGATE_STT: 'sherpa',
      VOXGATE_STT_MODEL: fixtureModels().asr,
      VOXGATE_VAD_MODEL: SILERO_VAD_MODEL,
      // The fake LLM is scripted one request per turn; speculative requests would take its answers.
      VOXGATE_PREEMPTIVE: 'off',
    };
    ({ child: gateway, output } = startVoxgate(env));
    const ready = await waitForReady(gateway, output);
    ota = `http://127.0.0.1:${ready.httpPort}/xiaozhi/ota/`;
  }, READY_TIMEOUT_MS + 30_000);

  afterAll(async () => {
    await killVoxgate(gateway);
    await fake?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const talk = (args: string[], onStderr?: (text: string) => void) =>
    run(VOXGATE_SIM, ['talk', '--protocol', 'xiaozhi', '--ota', ota, '--mac', MAC, '--json', ...args], {}, onStderr);

  it('version 2: prints the pairing code, `voxgate device claim` pairs it, and the model sets the volume through MCP', async () => {
    fake.chat.enqueue(
      { type: 'tool_calls', calls: [{ id: 'call_1', name: 'self_audio_speaker_set_volume', arguments: { volume: 30 } }] },
      { type: 'text', text: 'The volume is thirty now.' },
    );
    let claim: Promise<Run> | undefined;
    const result = await talk(['--protocol-version', '2', '--wav', wav, '--speed', '2'], (stderr) => {
      const code = /pairing code: (\d{6})/.exec(stderr)?.[1];
      if (code && !claim) claim = run(VOXGATE, ['device', 'claim', code, '--name', 'Desk bot', '--json'], env);
    });
    expect(claim).toBeDefined();
    const claimed = await claim!;
    expect(claimed.code, claimed.stderr).toBe(0);
    expect(JSON.parse(claimed.stdout)).toEqual({ id: 'xiaozhi-02c100001234', name: 'Desk bot', mac: MAC });
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
    const turn = JSON.parse(result.stdout);
    expect(turn).toMatchObject({ ok: true, protocol: 'xiaozhi', mac: MAC, protocolVersion: 2, kind: 'audio', stopReason: 'done', issues: [], sentences: ['The volume is thirty now.'] });
    expect(turn.pairedWith).toMatch(/^\d{6}$/);
    expect(turn.final).toBeTruthy();
    expect(turn.mcp.calls).toEqual([{ name: 'self.audio_speaker.set_volume', arguments: { volume: 30 } }]);
    expect(turn.deviceState.volume).toBe(30);
    expect(turn.replyAudio).toMatchObject({ sampleRate: 24000 });
    expect(turn.replyAudio.durationMs).toBeGreaterThan(500);

    const listed = JSON.parse((await run(VOXGATE, ['device', 'list', '--json'], env)).stdout);
    expect(listed).toEqual([expect.objectContaining({ id: 'xiaozhi-02c100001234', name: 'Desk bot', mac: MAC })]);
  }, 90_000);

  it('version 3, already paired: a button press barges in; tts stop comes at once and nothing more of the reply', async () => {
    fake.chat.enqueue({ type: 'text', text: LONG_ANSWER });
    const result = await talk(['--protocol-version', '3', '--text', 'tell me a long story', '--abort-after', '400']);
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
    const turn = JSON.parse(result.stdout);
    expect(turn).toMatchObject({ ok: true, protocolVersion: 3, pairedWith: null, kind: 'typed', stopReason: 'aborted', abortSent: true, issues: [] });
    expect(turn.timings.abortToStopMs).toBeLessThan(1_000);
    expect(turn.audioPacketsAfterAbort).toBeLessThanOrEqual(2);
  }, 60_000);

  it('version 1 (the OTA default), auto listening: the gateway ends the turn by itself', async () => {
    const result = await talk(['--wav', wav, '--mode', 'auto']);
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ ok: true, protocolVersion: 1, stopReason: 'done', sentences: ['Hello from the fake model.'] });
  }, 60_000);

  it('voxgate-sim load --protocol xiaozhi: devices pre-registered by MAC boot and talk', async () => {
    const result = await run(VOXGATE_SIM, ['load', '--protocol', 'xiaozhi', '--ota', ota, '--register', '--data-dir', dataDir, '--devices', '2', '--turns', '1', '--audio', wav, '--start-spread', '0', '--json'], {});
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report).toMatchObject({ ok: true, connect: { requested: 2, connected: 2, failed: 0 } });
    expect(report.turns.map((t: { ok: boolean }) => t.ok)).toEqual([true, true]);
  }, 90_000);

  it('stops on SIGTERM with exit code 0', async () => {
    const exited = new Promise<number | null>((resolve) => gateway.once('exit', (code) => resolve(code)));
    gateway.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 30_000);
});
