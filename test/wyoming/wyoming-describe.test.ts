/**
 * `describe` → `info` as Home Assistant's wyoming integration parses it (wyoming/info.py):
 * an asr program with the recognizers as `models`, a tts program with `voices`, every
 * artifact with all of its required fields; "installed" from disk while the engines load,
 * from the engines once attached. Plus the config section and a port that is taken.
 */
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../gateway/config.ts';
import { EspeakTtsProvider } from '../../gateway/speech/espeak-tts.ts';
import { FallbackTtsProvider } from '../../gateway/speech/fallback-tts.ts';
import { EspeakSchema, SpeechSchema } from '../../gateway/speech/speech-config.ts';
import { WHISPER_LANGUAGES } from '../../gateway/wyoming/wyoming-catalog.ts';
import { WyomingSchema } from '../../gateway/wyoming/wyoming-config.ts';
import { startWyomingServer } from '../../gateway/wyoming/wyoming-server.ts';
import { createCaptureLogger } from '../fakes/capture-logger.ts';
import { FakeStt } from '../fakes/fake-stt.ts';
import { FakeTts } from '../fakes/fake-tts.ts';
import { fixtureModels } from '../fixtures/speech-fixtures.ts';
import { startTestWyoming } from './helpers.ts';

type Artifact = Record<string, unknown> & { attribution: { name: string; url: string } };

async function describeInfo(w: Awaited<ReturnType<typeof startTestWyoming>>) {
  const client = await w.connect();
  client.send('describe');
  const info = (await client.next(1_000))!;
  expect(info.type).toBe('info');
  return info.data as { asr: Array<Artifact & { models: Artifact[] }>; tts: Array<Artifact & { voices: Artifact[] }> } & Record<string, unknown>;
}

/** Every field wyoming's Artifact (and AsrModel / TtsVoice) requires, present (description/version may be null). */
function expectArtifact(a: Artifact): void {
  expect(Object.keys(a)).toEqual(expect.arrayContaining(['name', 'attribution', 'installed', 'description', 'version']));
  expect(typeof a.name).toBe('string');
  expect(typeof a.installed).toBe('boolean');
  expect(typeof a.attribution.name).toBe('string');
  expect(typeof a.attribution.url).toBe('string');
}

describe('Wyoming describe', () => {
  it('while the engines load: what is on disk, with every field Home Assistant’s parser needs', async () => {
    const models = fixtureModels();
    const speech = SpeechSchema.parse({ stt: 'sherpa,groq', sherpaStt: { model: models.asr }, sherpaTts: { voice: models.tts } });
    const w = await startTestWyoming({ catalog: { speech, groqConfigured: false, sttLanguages: ['en', 'de'] } });
    const info = await describeInfo(w);
    expect(Object.keys(info).sort()).toEqual(['asr', 'handle', 'intent', 'mic', 'snd', 'tts', 'wake']);
    const [asr] = info.asr;
    expectArtifact(asr!);
    expect(asr).toMatchObject({ name: 'voxgate', installed: true, supports_transcript_streaming: true });
    expect(asr!.models).toEqual([
      expect.objectContaining({ name: 'streaming-zipformer2-tiny', installed: true, languages: ['en', 'de'], version: null }),
      expect.objectContaining({ name: 'whisper-large-v3-turbo', installed: false, languages: WHISPER_LANGUAGES }),
    ]);
    for (const model of asr!.models) expectArtifact(model);

    const [tts] = info.tts;
    expectArtifact(tts!);
    expect(tts).toMatchObject({ name: 'voxgate', installed: true, supports_synthesize_streaming: true });
    expect(tts).not.toHaveProperty('models');
    expect(tts!.voices).toEqual([
      // The piper voice's language comes from its model file (en_US-fixture-low.onnx).
      expect.objectContaining({ name: 'piper-tiny', installed: true, languages: ['en_US'], speakers: null }),
      // espeak-ng has not been started yet: its configured voice, not yet known to work.
      expect.objectContaining({ name: 'en-us', installed: false, languages: ['en_US'] }),
    ]);
    for (const voice of tts!.voices) expectArtifact(voice);
  });

  it('a model that is not on disk is not installed', async () => {
    const w = await startTestWyoming({ catalog: { speech: SpeechSchema.parse({ stt: 'sherpa', tts: 'sherpa' }), modelsDir: '/nonexistent' } });
    const info = await describeInfo(w);
    expect(info.asr[0]!.models).toEqual([expect.objectContaining({ name: 'sherpa-onnx-streaming-zipformer-en-20M-2023-02-17', installed: false })]);
    expect(info.asr[0]!.installed).toBe(false);
    expect(info.tts[0]!.voices).toEqual([expect.objectContaining({ name: 'vits-piper-en_US-amy-low', installed: false, languages: ['en_US'] })]);
  });

  it('once attached: the voices of the running providers (espeak-ng’s, with their languages)', async () => {
    const logger = createCaptureLogger('silent').logger;
    const espeak = new EspeakTtsProvider(EspeakSchema.parse({}), logger);
    await espeak.start();
    const tts = new FallbackTtsProvider([espeak], logger);
    const stt = new FakeStt();
    const w = await startTestWyoming({ engines: { stt, tts }, catalog: { speech: SpeechSchema.parse({ tts: 'espeak' }) } });
    const info = await describeInfo(w);
    const voices = info.tts[0]!.voices;
    expect(voices.length).toBeGreaterThan(50);
    expect(voices).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'en-us', installed: true, languages: ['en_US'] }),
        expect.objectContaining({ name: 'de', installed: true, languages: ['de'] }),
        expect.objectContaining({ name: 'en-gb-x-rp', installed: true, languages: ['en_GB'] }),
      ]),
    );
    expect(new Set(voices.map((v) => v.name)).size).toBe(voices.length);
    // The recognizer's own capabilities decide streaming.
    expect(info.asr[0]!.supports_transcript_streaming).toBe(true);
    (stt as { capabilities: unknown }).capabilities = { streaming: false, partials: false };
    expect((await describeInfo(w)).asr[0]!.supports_transcript_streaming).toBe(false);
  });

  it('engines given instead of the configured ones describe themselves', async () => {
    const w = await startTestWyoming({ engines: { stt: new FakeStt(), tts: new FakeTts() } });
    const info = await describeInfo(w);
    expect(info.asr[0]!.models).toEqual([expect.objectContaining({ name: 'fake-stt', installed: true, languages: ['en'] })]);
    expect(info.tts[0]!.voices).toEqual([expect.objectContaining({ name: 'tone', installed: true, languages: ['en'] })]);
  });

  it('a port that is taken does not stop the gateway: logged, health says why', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    const log = createCaptureLogger('debug');
    try {
      const server = await startWyomingServer({
        settings: WyomingSchema.parse({ port, zeroconf: false }),
        host: '127.0.0.1',
        catalog: { speech: SpeechSchema.parse({}), modelsDir: '/none', whisperModel: 'w', groqConfigured: false, sttLanguages: ['en'] },
        logger: log.logger,
      });
      expect(server.port).toBeNull();
      expect(server.health()).toMatchObject({ name: 'wyoming', ready: false, detail: expect.stringMatching(/EADDRINUSE/) });
      expect(log.matching('Wyoming server not started')).toHaveLength(1);
      await server.close();
    } finally {
      blocker.close();
    }
  });
});

describe('wyoming config', () => {
  it('environment variables reach the config: port (off, 0, default 10300), zeroconf, allow list, limits', () => {
    expect(loadConfig({ env: {} }).wyoming).toMatchObject({ port: 10300, zeroconf: true, allow: [], maxJobs: 4, sttLanguages: ['en'] });
    expect(loadConfig({ env: { VOXGATE_WYOMING_PORT: 'off' } }).wyoming.port).toBeNull();
    expect(loadConfig({ env: { VOXGATE_WYOMING_PORT: '0' } }).wyoming.port).toBe(0);
    const config = loadConfig({
      env: { VOXGATE_WYOMING_ZEROCONF: 'off', VOXGATE_WYOMING_ALLOW: '192.168.1.0/24, 10.0.0.7, fd00::/8', VOXGATE_WYOMING_MAX_JOBS: '2', VOXGATE_WYOMING_NAME: 'kitchen-voxgate' },
    });
    expect(config.wyoming).toMatchObject({ zeroconf: false, allow: ['192.168.1.0/24', '10.0.0.7', 'fd00::/8'], maxJobs: 2, zeroconfName: 'kitchen-voxgate' });
  });

  it('refuses what is not an address range, and ports out of range', () => {
    expect(() => loadConfig({ env: { VOXGATE_WYOMING_ALLOW: '192.168.1.0/33' } })).toThrow(ConfigError);
    expect(() => loadConfig({ env: { VOXGATE_WYOMING_ALLOW: 'kitchen' } })).toThrow(/wyoming\.allow/);
    expect(() => loadConfig({ env: { VOXGATE_WYOMING_PORT: '70000' } })).toThrow(/wyoming\.port/);
  });
});
