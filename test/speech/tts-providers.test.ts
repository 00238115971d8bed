/**
 * Provider-specific TTS behaviour beyond the contract: sherpa-onnx generation in worker
 * threads on the fixture voice (speed, speakers, broken voices, model types) and the
 * espeak-ng child process (voice list, WAV parsing, speed → words per minute).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findEspeakDataDir, isEspeakDataDir } from '../../gateway/speech/espeak-data.ts';
import { EspeakTtsProvider, parseVoiceList } from '../../gateway/speech/espeak-tts.ts';
import { resolveTtsModel } from '../../gateway/speech/sherpa/tts-model.ts';
import { EspeakSchema, SherpaTtsSchema } from '../../gateway/speech/speech-config.ts';
import { ProviderError } from '../../gateway/providers.ts';
import { corruptModel, fixtureModels } from '../fixtures/speech-fixtures.ts';
import { useTempDirs } from '../helpers/temp-dir.ts';
import { SYSTEM_ESPEAK_DATA } from './helpers/paths.ts';
import { quietLogger, startSherpaTts } from './helpers/providers.ts';

const signal = () => new AbortController().signal;

describe('sherpa-onnx TTS (fixture piper voice)', () => {
  const tempDir = useTempDirs('sherpa-tts');

  it('generates at the voice rate with the system espeak-ng data, and speed scales the length exactly', async () => {
    const provider = await startSherpaTts({ workers: 1 });
    try {
      expect(provider.health().detail).toMatch(/22050 Hz/);
      const normal = await provider.synthesize('Hello there.', { signal: signal(), speed: 1 });
      const fast = await provider.synthesize('Hello there.', { signal: signal(), speed: 2 });
      expect(normal.sampleRate).toBe(22050);
      // The fixture makes 256 samples per phoneme id at length_scale 1 (= 1 / speed).
      expect(normal.samples.length % 256).toBe(0);
      expect(fast.samples.length).toBe(normal.samples.length / 2);
    } finally {
      await provider.close();
    }
  });

  it('uses the configured default speed and speaker, and refuses speakers the voice lacks', async () => {
    const provider = await startSherpaTts({ speed: 2 });
    try {
      const label = fixtureModels().tts;
      expect(provider.voices()).toEqual([{ id: label, provider: 'sherpa', sampleRate: 22050, language: undefined }]);
      const byDefault = await provider.synthesize('Hello there.', { signal: signal() });
      const explicit = await provider.synthesize('Hello there.', { signal: signal(), speed: 2, voice: `${label}:0` });
      expect(byDefault.samples.length).toBe(explicit.samples.length);
      await expect(provider.synthesize('Hello.', { signal: signal(), voice: '3' })).rejects.toThrow(/no voice "3"/);
    } finally {
      await provider.close();
    }
  });

  it('generates in parallel on several workers and queues the rest in order', async () => {
    const provider = await startSherpaTts({ workers: 2 });
    try {
      const texts = Array.from({ length: 6 }, (_, i) => `Sentence number ${'very '.repeat(i)}long.`);
      const results = await Promise.all(texts.map((t) => provider.synthesize(t, { signal: signal() })));
      for (let i = 1; i < results.length; i++) expect(results[i]!.samples.length).toBeGreaterThan(results[i - 1]!.samples.length);
    } finally {
      await provider.close();
    }
  });

  it('reports a missing voice with its install command, and a corrupt one as broken', async () => {
    const missing = await startSherpaTts({ voice: 'vits-piper-en_US-lessac-medium' }, tempDir());
    expect(missing.health()).toMatchObject({ ready: false, install: 'voxgate models pull vits-piper-en_US-lessac-medium' });
    await expect(missing.synthesize('Hi.', { signal: signal() })).rejects.toMatchObject({ reason: 'missing_model' });
    await missing.close();

    const broken = await startSherpaTts({ voice: corruptModel(fixtureModels().tts, tempDir(), 'en_US-fixture-low.onnx') });
    expect(broken.health().ready).toBe(false);
    expect(broken.health().detail).toMatch(/broken/);
    await expect(broken.synthesize('Hi.', { signal: signal() })).rejects.toBeInstanceOf(ProviderError);
    await broken.close();
  });

  it('maps piper, kokoro and matcha voices onto sherpa-onnx\'s config', () => {
    const base = tempDir();
    const touch = (dir: string, names: string[]) => {
      mkdirSync(dir, { recursive: true });
      for (const n of names) writeFileSync(path.join(dir, n), 'x');
    };
    const piper = path.join(base, 'piper');
    touch(piper, ['en_US-amy-low.onnx', 'tokens.txt']);
    mkdirSync(path.join(piper, 'espeak-ng-data'));
    writeFileSync(path.join(piper, 'espeak-ng-data', 'phontab'), 'x');
    const p = resolveTtsModel(SherpaTtsSchema.parse({ voice: piper }), '/none', SYSTEM_ESPEAK_DATA);
    expect(p.type).toBe('vits');
    // The voice's own espeak-ng-data wins over the system's.
    expect(p.config.model.vits).toEqual({ model: path.join(piper, 'en_US-amy-low.onnx'), tokens: path.join(piper, 'tokens.txt'), dataDir: path.join(piper, 'espeak-ng-data') });

    const kokoro = path.join(base, 'kokoro');
    touch(kokoro, ['model.onnx', 'voices.bin', 'tokens.txt']);
    const k = resolveTtsModel(SherpaTtsSchema.parse({ voice: kokoro, speakerId: 3, numThreads: 2 }), '/none', SYSTEM_ESPEAK_DATA);
    expect(k.type).toBe('kokoro');
    expect(k.config.model).toMatchObject({ kokoro: { model: path.join(kokoro, 'model.onnx'), voices: path.join(kokoro, 'voices.bin'), dataDir: SYSTEM_ESPEAK_DATA }, numThreads: 2 });

    const matcha = path.join(base, 'matcha');
    touch(matcha, ['model-steps-3.onnx', 'tokens.txt', 'lexicon.txt']);
    expect(() => resolveTtsModel(SherpaTtsSchema.parse({ voice: matcha, modelType: 'matcha' }), '/none', SYSTEM_ESPEAK_DATA)).toThrow(/vocoder/);
    touch(matcha, ['vocos-22khz-univ.onnx']);
    const m = resolveTtsModel(SherpaTtsSchema.parse({ voice: matcha }), '/none', SYSTEM_ESPEAK_DATA);
    expect(m.config.model.matcha).toMatchObject({ acousticModel: path.join(matcha, 'model-steps-3.onnx'), vocoder: path.join(matcha, 'vocos-22khz-univ.onnx'), lexicon: path.join(matcha, 'lexicon.txt') });
  });
});

describe('espeak-ng data directory', () => {
  it('finds Debian\'s and honours a configured one', () => {
    expect(isEspeakDataDir(SYSTEM_ESPEAK_DATA)).toBe(true);
    expect(findEspeakDataDir()).toBe(SYSTEM_ESPEAK_DATA);
    expect(findEspeakDataDir('/somewhere/else')).toBe('/somewhere/else');
    expect(findEspeakDataDir(undefined, ['/nope', SYSTEM_ESPEAK_DATA])).toBe(SYSTEM_ESPEAK_DATA);
  });
});

describe('espeak-ng TTS', () => {
  it('parses the voice list', () => {
    const voices = parseVoiceList(
      'Pty Language       Age/Gender VoiceName          File                 Other Languages\n' +
        ' 2  en-gb           --/M      English_(Great_Britain) gmw/en               (en 2)\n' +
        ' 2  en-us           --/M      English_(America)  gmw/en-US            (en 3)\n',
    );
    expect(voices.map((v) => v.id)).toEqual(['en-gb', 'en-us']);
  });

  it('speaks through the real binary, maps speed to words per minute, and takes an explicit data dir', async () => {
    const provider = new EspeakTtsProvider(EspeakSchema.parse({ dataDir: SYSTEM_ESPEAK_DATA }), quietLogger());
    await provider.start();
    try {
      expect(provider.voices().some((v) => v.id === 'en-us')).toBe(true);
      const slow = await provider.synthesize('Testing the espeak voice today.', { signal: signal(), speed: 0.7 });
      const fast = await provider.synthesize('Testing the espeak voice today.', { signal: signal(), speed: 1.5 });
      expect(slow.sampleRate).toBe(22050);
      expect(fast.samples.length).toBeLessThan(slow.samples.length * 0.7);
      const british = await provider.synthesize('Testing.', { signal: signal(), voice: 'en-gb' });
      expect(british.samples.length).toBeGreaterThan(0);
    } finally {
      await provider.close();
    }
  });

  it('is unavailable, with the apt command, when the binary is missing', async () => {
    const provider = new EspeakTtsProvider(EspeakSchema.parse({ binary: '/nonexistent/espeak-ng' }), quietLogger());
    await provider.start();
    expect(provider.health()).toMatchObject({ ready: false, install: 'apt-get install espeak-ng espeak-ng-data' });
    await expect(provider.synthesize('Hi.', { signal: signal() })).rejects.toMatchObject({ reason: 'unavailable' });
  });
});
