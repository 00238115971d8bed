/**
 * sherpa-onnx streaming STT through our worker pool, on the fixture transducer: the exact
 * samples reach the recognizer, the Silero gate skips silence, streams are spread over
 * workers, and missing/broken models are reported instead of crashing the gateway.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSherpa } from '../../gateway/speech/sherpa/native.ts';
import type { SherpaSttProvider, SherpaSttStream } from '../../gateway/speech/sherpa/sherpa-stt.ts';
import { recognizerConfig, resolveSttModel } from '../../gateway/speech/sherpa/stt-model.ts';
import { SherpaSttSchema } from '../../gateway/speech/speech-config.ts';
import { ProviderError } from '../../gateway/providers.ts';
import { corruptModel, fixtureModels, modelWithout, unbatchableAsrFixture } from '../fixtures/speech-fixtures.ts';
import { useTempDirs } from '../helpers/temp-dir.ts';
import { concat, silence, speechClip } from './helpers/audio.ts';
import { SILERO_SETTINGS, startSherpaStt } from './helpers/providers.ts';

const signal = () => new AbortController().signal;

/** Decodes in this process with sherpa directly: what the recognizer makes of exactly these samples. */
function decodeDirectly(samples: Float32Array, tailPaddingMs: number, model = fixtureModels().asr): string {
  const settings = SherpaSttSchema.parse({ model, tailPaddingMs });
  const recognizer = new (loadSherpa().OnlineRecognizer)(recognizerConfig(resolveSttModel(settings, '/none'), settings));
  const stream = recognizer.createStream();
  stream.acceptWaveform({ samples, sampleRate: 16000 });
  stream.acceptWaveform({ samples: new Float32Array((tailPaddingMs / 1000) * 16000), sampleRate: 16000 });
  stream.inputFinished();
  while (recognizer.isReady(stream)) recognizer.decode(stream);
  return recognizer.getResult(stream).text.trim();
}

async function transcribe(provider: SherpaSttProvider, samples: Float32Array, chunk: number) {
  const stream = provider.createStream({ signal: signal() }) as SherpaSttStream;
  for (let i = 0; i < samples.length; i += chunk) stream.push(samples.subarray(i, i + chunk));
  const { text } = await stream.finish();
  return { text, stats: stream.stats! };
}

describe('sherpa STT worker pool (no gate)', () => {
  let provider: SherpaSttProvider;
  beforeAll(async () => {
    provider = await startSherpaStt({ workers: 2, gate: false });
  });
  afterAll(() => provider.close());

  it('gives the recognizer exactly the samples pushed, in any chunking, plus the tail padding', async () => {
    const clip = speechClip(3);
    const expected = decodeDirectly(clip, 800);
    expect(expected.length).toBeGreaterThan(0);
    // The comparison is sensitive: the same audio at half the level decodes differently.
    expect(decodeDirectly(clip.map((v) => v * 0.5), 800)).not.toBe(expected);
    for (const chunk of [320, 333, 1600, 4801]) {
      const { text, stats } = await transcribe(provider, clip, chunk);
      expect(text).toBe(expected);
      expect(stats.receivedSamples).toBe(clip.length);
      expect(stats.decodedSamples).toBe(clip.length + 0.8 * 16000);
    }
  });

  it('does not change the caller\'s buffers (audio is copied before transfer)', async () => {
    const clip = speechClip(1);
    const before = clip.slice();
    await transcribe(provider, clip, 1600);
    expect(clip).toEqual(before);
  });

  it('pins each stream to the least busy worker', () => {
    const streams = [1, 2, 3, 4].map(() => provider.createStream({ signal: signal() }));
    expect(provider.load()).toEqual([2, 2]);
    return Promise.all(streams.map((s) => s.finish()));
  });

  it('batches concurrent streams, the fixture model being batchable', () => {
    expect(provider.health().detail).not.toMatch(/one stream per decode call/);
  });

  it('fails the streams of a worker that dies (retryable), then replaces the worker', async () => {
    const stream = provider.createStream({ signal: signal() });
    stream.push(speechClip(1));
    // Stopped from outside the provider: to the provider, its worker just went away.
    const slots = (provider as unknown as { slots: Array<{ worker?: { stop(): Promise<void> }; streams: Set<number> }> }).slots;
    const slot = slots.find((s) => s.streams.size > 0)!;
    await slot.worker!.stop();
    const error = await stream.finish().catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).retryable).toBe(true);
    await expect.poll(() => provider.health().detail, { timeout: 30_000 }).toMatch(/2\/2 workers/);
    const { text } = await transcribe(provider, speechClip(2), 1600);
    expect(text.length).toBeGreaterThan(0);
  });
});

describe('sherpa STT on a model that cannot batch streams', () => {
  it('decodes concurrent streams on one worker one at a time instead of aborting the process', async () => {
    // This fixture's state tensors cannot be stacked: one decodeStreams call on two of its
    // streams aborts onnxruntime, and with it the whole process.
    const provider = await startSherpaStt({ model: unbatchableAsrFixture(), workers: 1, gate: false });
    try {
      expect(provider.health()).toMatchObject({ ready: true });
      expect(provider.health().detail).toMatch(/one stream per decode call/);
      const clips = [speechClip(3), speechClip(3, 10)];
      const streams = clips.map(() => provider.createStream({ signal: signal() }));
      // Interleaved, so that both streams are ready in the same drain of the worker.
      for (let i = 0; i < clips[0]!.length; i += 1600) clips.forEach((clip, k) => streams[k]!.push(clip.subarray(i, i + 1600)));
      const results = await Promise.all(streams.map((stream) => stream.finish()));
      const expected = clips.map((clip) => decodeDirectly(clip, 800, unbatchableAsrFixture()));
      expect(expected[0]).not.toBe(expected[1]);
      expect(results.map((r) => r.text)).toEqual(expected);
    } finally {
      await provider.close();
    }
  });
});

describe('sherpa STT with the Silero gate', () => {
  let provider: SherpaSttProvider;
  beforeAll(async () => {
    provider = await startSherpaStt({ workers: 1 }, { vad: SILERO_SETTINGS });
  });
  afterAll(() => provider.close());

  it('does not decode long silences', async () => {
    const clip = concat(silence(3), speechClip(3), silence(4), speechClip(2, 10), silence(3));
    const { text, stats } = await transcribe(provider, clip, 320);
    expect(text.length).toBeGreaterThan(0);
    expect(stats.receivedSamples).toBe(clip.length);
    const speechAndPadding = (3 + 2) * 16000;
    // Decoded: the speech, its pre-roll and trailing VAD silence, and the tail padding; not the 10 s of silence.
    expect(stats.decodedSamples).toBeGreaterThanOrEqual(speechAndPadding * 0.9);
    expect(stats.decodedSamples).toBeLessThan(clip.length - 7 * 16000);
    expect(provider.health().detail).not.toMatch(/gate off/);
  });

  it('decodes only the pre-roll and the tail padding of a silent turn', async () => {
    const { text, stats } = await transcribe(provider, silence(5), 320);
    expect(text).toBe('');
    expect(stats.decodedSamples).toBe(0.5 * 16000 + 0.8 * 16000);
  });

  it('keeps the first syllable: speech cut off before the VAD confirms it still reaches the recognizer', async () => {
    const { stats } = await transcribe(provider, concat(silence(1), speechClip(0.2)), 320);
    expect(stats.decodedSamples).toBeGreaterThanOrEqual(0.2 * 16000);
  });
});

describe('sherpa STT model problems', () => {
  const tempDir = useTempDirs('sherpa-stt');

  it('reports a model that is not installed, with the command that installs it', async () => {
    const provider = await startSherpaStt({ model: 'sherpa-onnx-streaming-zipformer-en-20M-2023-02-17' }, { modelsDir: tempDir() });
    const health = provider.health();
    expect(health.ready).toBe(false);
    expect(health.install).toBe('voxgate models pull sherpa-onnx-streaming-zipformer-en-20M-2023-02-17');
    expect(() => provider.createStream({ signal: signal() })).toThrow(ProviderError);
    try {
      provider.createStream({ signal: signal() });
    } catch (err) {
      expect((err as ProviderError).reason).toBe('missing_model');
    }
    await provider.close();
  });

  it('reports an incomplete model directory by the file it lacks', async () => {
    const dir = modelWithout(fixtureModels().asr, tempDir(), 'tokens.txt');
    const provider = await startSherpaStt({ model: dir });
    expect(provider.health().ready).toBe(false);
    expect(provider.health().detail).toMatch(/incomplete: missing tokens/);
    await provider.close();
  });

  it('reports a corrupt model as broken without bringing the process down', async () => {
    const dir = corruptModel(fixtureModels().asr, tempDir(), 'encoder.onnx');
    const provider = await startSherpaStt({ model: dir });
    const health = provider.health();
    expect(health.ready).toBe(false);
    expect(health.detail).toMatch(/broken/);
    expect(health.detail).toMatch(/encoder\.onnx|Protobuf|load/i);
    expect(() => provider.createStream({ signal: signal() })).toThrow(/broken/);
    await provider.close();
  });
});

describe('STT model resolution', () => {
  const tempDir = useTempDirs('stt-model');
  const touch = (dir: string, names: string[]) => {
    mkdirSync(dir, { recursive: true });
    for (const n of names) writeFileSync(path.join(dir, n), 'x');
  };
  const settingsFor = (model: string, extra: Record<string, unknown> = {}) => SherpaSttSchema.parse({ model, ...extra });

  it('finds transducer files, preferring int8 encoder/joiner and a full-precision decoder', () => {
    const dir = path.join(tempDir(), 'm');
    touch(dir, ['encoder-epoch-99-avg-1.onnx', 'encoder-epoch-99-avg-1.int8.onnx', 'decoder-epoch-99-avg-1.onnx', 'decoder-epoch-99-avg-1.int8.onnx', 'joiner-epoch-99-avg-1.onnx', 'joiner-epoch-99-avg-1.int8.onnx', 'tokens.txt']);
    const model = resolveSttModel(settingsFor(dir), '/none');
    expect(model.type).toBe('transducer');
    expect(path.basename(model.files.encoder!)).toBe('encoder-epoch-99-avg-1.int8.onnx');
    expect(path.basename(model.files.decoder!)).toBe('decoder-epoch-99-avg-1.onnx');
    expect(path.basename(model.files.joiner!)).toBe('joiner-epoch-99-avg-1.int8.onnx');
    const full = resolveSttModel(settingsFor(dir, { preferInt8: false }), '/none');
    expect(path.basename(full.files.encoder!)).toBe('encoder-epoch-99-avg-1.onnx');
  });

  it('maps each model type onto sherpa-onnx\'s modelConfig fields', () => {
    const base = tempDir();
    const paraformer = path.join(base, 'p');
    touch(paraformer, ['encoder.int8.onnx', 'decoder.int8.onnx', 'tokens.txt']);
    const p = resolveSttModel(settingsFor(paraformer), '/none');
    expect(p.type).toBe('paraformer');
    expect(recognizerConfig(p, settingsFor(paraformer)).modelConfig.paraformer).toEqual({ encoder: path.join(paraformer, 'encoder.int8.onnx'), decoder: path.join(paraformer, 'decoder.int8.onnx') });

    const ctc = path.join(base, 'c');
    touch(ctc, ['ctc-epoch-20-avg-1-chunk-16-left-128.onnx', 'tokens.txt']);
    for (const [type, field] of [['zipformer2-ctc', 'zipformer2Ctc'], ['nemo-ctc', 'nemoCtc'], ['tone-ctc', 'toneCtc']] as const) {
      const settings = settingsFor(ctc, { modelType: type, numThreads: 3, provider: 'cuda' });
      const config = recognizerConfig(resolveSttModel(settings, '/none'), settings);
      expect(config.modelConfig[field]).toEqual({ model: path.join(ctc, 'ctc-epoch-20-avg-1-chunk-16-left-128.onnx') });
      expect(config.modelConfig.numThreads).toBe(3);
      expect(config.modelConfig.provider).toBe('cuda');
      expect(config.decodingMethod).toBe('greedy_search');
    }
  });

  it('uses explicit file paths from config over what the directory holds', () => {
    const dir = path.join(tempDir(), 'x');
    touch(dir, ['a.onnx', 'b.onnx', 'c.onnx', 'words.txt']);
    const settings = settingsFor(dir, { modelType: 'transducer', files: { encoder: 'a.onnx', decoder: 'b.onnx', joiner: 'c.onnx', tokens: 'words.txt' } });
    const model = resolveSttModel(settings, '/none');
    expect(model.files).toEqual({ encoder: path.join(dir, 'a.onnx'), decoder: path.join(dir, 'b.onnx'), joiner: path.join(dir, 'c.onnx'), tokens: path.join(dir, 'words.txt') });
  });
});
