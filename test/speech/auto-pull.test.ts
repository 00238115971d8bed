/**
 * First start fetches the default models (issue 11 item 13), against a loopback server that
 * serves real archives at the catalogue's paths (`speech.modelsBaseUrl` points there): the
 * gateway is ready while the download runs, /health and the log show progress, the engines
 * start using what arrives; offline it logs once, naming the command; VOXGATE_AUTO_PULL=off
 * downloads nothing.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from '../../gateway/app.ts';
import { loadConfig } from '../../gateway/config.ts';
import { findEspeakDataDir } from '../../gateway/speech/espeak-data.ts';
import { findCatalogueModel } from '../../gateway/speech/models/catalogue.ts';
import { createCaptureLogger, type CapturedLogger } from '../fakes/capture-logger.ts';
import { copyModel, fixtureModels } from '../fixtures/speech-fixtures.ts';
import { useTempDirs } from '../helpers/temp-dir.ts';
import { eventually } from '../transport/helpers.ts';
import { runVoxgate } from '../cli/run-voxgate.ts';
import { startArchiveServer, tarBz2, type ArchiveServer } from './helpers/archive-server.ts';
import { SILERO_VAD_MODEL } from './helpers/paths.ts';

const STT = 'sherpa-onnx-streaming-zipformer-en-20M-2023-02-17';
const VOICE = 'vits-piper-en_US-amy-low';
const VAD = 'silero-vad';
const PULL_COMMAND = `voxgate models pull ${STT} ${VAD} ${VOICE}`;

const tempDir = useTempDirs('auto-pull');
let server: ArchiveServer;
/** The STT archive, served in two halves: the second once the test releases it. */
let sttArchive: Buffer;
let releaseStt: () => void = () => {};

/** The catalogue's files made from the fixtures: the fixture transducer under the default model's names, the fixture piper voice under amy's. */
function buildArchives(): { stt: Buffer; voice: Buffer } {
  const work = tempDir();
  const stt = copyModel(fixtureModels().asr, work, STT);
  for (const role of ['encoder', 'decoder', 'joiner']) renameSync(path.join(stt, `${role}.onnx`), path.join(stt, `${role}-epoch-99-avg-1.onnx`));
  const voice = copyModel(fixtureModels().tts, work, VOICE);
  renameSync(path.join(voice, 'en_US-fixture-low.onnx'), path.join(voice, 'en_US-amy-low.onnx'));
  // Piper archives carry their own espeak-ng-data: the part an English voice reads.
  const system = findEspeakDataDir();
  if (!system) throw new Error('espeak-ng-data is not installed (apt-get install espeak-ng-data)');
  mkdirSync(path.join(voice, 'espeak-ng-data'));
  for (const entry of ['phontab', 'phonindex', 'phondata', 'intonations', 'en_dict', 'lang', 'voices']) {
    if (existsSync(path.join(system, entry))) cpSync(path.join(system, entry), path.join(voice, 'espeak-ng-data', entry), { recursive: true });
  }
  return { stt: tarBz2(work, STT), voice: tarBz2(work, VOICE) };
}

beforeAll(async () => {
  server = await startArchiveServer();
  const archives = buildArchives();
  sttArchive = archives.stt;
  server.routes.set(`/asr-models/${STT}.tar.bz2`, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': sttArchive.length });
    const half = Math.floor(sttArchive.length / 2);
    res.write(sttArchive.subarray(0, half));
    new Promise<void>((resolve) => (releaseStt = resolve)).then(() => res.end(sttArchive.subarray(half)));
  });
  server.serve('/asr-models/silero_vad.onnx', readFileSync(SILERO_VAD_MODEL));
  server.serve(`/tts-models/${VOICE}.tar.bz2`, archives.voice);
  // The catalogue paths are the real ones: only the base differs.
  expect(findCatalogueModel(STT)!.url.endsWith(`/asr-models/${STT}.tar.bz2`)).toBe(true);
}, 60_000);
afterAll(() => server?.close());

const running: RunningGateway[] = [];
afterEach(async () => {
  releaseStt();
  for (const g of running.splice(0)) await g.stop();
});

async function start(env: Record<string, string>, log: CapturedLogger): Promise<RunningGateway> {
  // The default speech settings, except where models come from (and no Groq key: its Whisper stays down).
  const config = loadConfig({ env, overrides: { dataDir: tempDir(), host: '127.0.0.1', httpPort: 0, mqttPort: 0, 'wyoming.port': 'off' } });
  const gateway = await startGateway(config, { logger: log.logger });
  running.push(gateway);
  return gateway;
}

async function health(g: RunningGateway, key?: string): Promise<Record<string, any>> {
  const headers: Record<string, string> = key ? { authorization: `Bearer ${key}` } : {};
  return (await (await fetch(`http://127.0.0.1:${g.httpPort}/health`, { headers })).json()) as Record<string, any>;
}

const engine = (h: Record<string, any>, name: string) => (h.engines as Array<{ name: string; ready: boolean }>).find((e) => e.name === name);

describe('first start: the default models download in the background', () => {
  it('is ready before the download ends, shows progress, then serves with the downloaded models', async () => {
    const log = createCaptureLogger('info');
    const g = await start({ VOXGATE_MODELS_BASE_URL: server.base }, log);
    expect(log.lines.filter((l) => l.msg === 'ready')).toHaveLength(1);
    const key = g.store.apiKeys.create('ops').key;

    // The STT archive is half sent: the gateway serves meanwhile (espeak-ng speaks) and says how far it got.
    const during = await eventually(async () => {
      const h = await health(g, key);
      return h.models?.models?.[0]?.percent >= 40 && h;
    }, 'download progress in /health');
    expect(during.models).toMatchObject({ state: 'pulling', models: [{ name: STT, kind: 'stt', state: 'downloading', totalBytes: sttArchive.length }, { name: VAD, state: 'waiting' }, { name: VOICE, state: 'waiting' }] });
    expect(during.models.models[0].percent).toBeLessThan(100);
    expect(engine(during, 'tts')).toMatchObject({ ready: true });
    expect(engine(during, 'stt:sherpa')).toMatchObject({ ready: false });
    const open = await health(g);
    expect(open.models.models[0]).toMatchObject({ name: STT, state: 'downloading', percent: expect.any(Number) });
    expect(log.matching('speech model download progress').map((l) => l.percent)).toEqual(expect.arrayContaining([0]));

    releaseStt();
    const after = await eventually(async () => {
      const h = await health(g, key);
      return h.models.state === 'done' && h;
    }, 'every model installed', 60_000);
    expect(after.models.models.map((m: { state: string }) => m.state)).toEqual(['installed', 'installed', 'installed']);
    expect(after.models.command).toBeUndefined();
    // Adopted without a restart: sherpa recognises and speaks now.
    expect(await eventually(async () => engine(await health(g, key), 'stt:sherpa')?.ready, 'sherpa STT ready')).toBe(true);
    expect(await eventually(async () => engine(await health(g, key), 'tts:sherpa')?.ready, 'sherpa TTS ready')).toBe(true);
    expect(engine(after, 'stt')).toMatchObject({ ready: true });

    const modelsDir = log.matching('downloading the default speech models')[0]!.modelsDir as string;
    expect(readdirSync(modelsDir).sort()).toEqual([STT, VAD, VOICE].sort()); // no work directories left
    expect(log.matching('speech model installed').map((l) => l.model)).toEqual([STT, VAD, VOICE]);
    expect(log.matching('default speech models installed')).toHaveLength(1);
    expect(server.requested.filter((r) => r.includes(STT))).toHaveLength(1);
  }, 90_000);

  it('offline: logs once, naming the command that installs them, and /health says so', async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve)); // nothing listens there now: connection refused

    const log = createCaptureLogger('info');
    const g = await start({ VOXGATE_MODELS_BASE_URL: `http://127.0.0.1:${port}` }, log);
    const key = g.store.apiKeys.create('ops').key;
    const h = await eventually(async () => {
      const r = await health(g, key);
      return r.models.state === 'offline' && r;
    }, 'the offline state');
    expect(h.models.command).toBe(PULL_COMMAND);
    expect(h.models.models.map((m: { state: string }) => m.state)).toEqual(['failed', 'skipped', 'skipped']);
    const warnings = log.lines.filter((l) => l.msg.includes(PULL_COMMAND));
    expect(warnings).toEqual([expect.objectContaining({ level: 40, install: PULL_COMMAND, msg: expect.stringMatching(/offline/) })]);
    expect(log.lines.filter((l) => String(l.msg).startsWith('speech model download failed'))).toEqual([]);
  }, 60_000);

  it('VOXGATE_AUTO_PULL=off downloads nothing', async () => {
    expect(loadConfig({ env: { VOXGATE_AUTO_PULL: 'off' } }).speech.autoPull).toBe(false);
    expect(loadConfig({ env: {} }).speech.autoPull).toBe(true);
    const before = server.requested.length;
    const log = createCaptureLogger('info');
    const g = await start({ VOXGATE_MODELS_BASE_URL: server.base, VOXGATE_AUTO_PULL: 'off' }, log);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(server.requested.length).toBe(before);
    expect((await health(g)).models).toEqual({ state: 'off', models: [] });
    expect(log.matching('downloading')).toEqual([]);
  }, 60_000);

  it('the command it names, `voxgate models pull`, downloads from the same base URL', async () => {
    const dataDir = tempDir();
    const result = await runVoxgate(['models', 'pull', VAD, '--no-load-test'], { VOXGATE_DATA_DIR: dataDir, VOXGATE_MODELS_BASE_URL: server.base });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/installed silero-vad/);
    expect(readFileSync(path.join(dataDir, 'models', VAD, 'silero_vad.onnx')).equals(readFileSync(SILERO_VAD_MODEL))).toBe(true);
  }, 60_000);
});
