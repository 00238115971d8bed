/**
 * The engines factory and the fallback compositions: the gateway starts without any
 * model and says which command installs what; a turn whose first provider fails is
 * replayed, sample for sample, into the next; config and env reach the providers.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../gateway/config.ts';
import { createSpeechEngines } from '../../gateway/speech/engines.ts';
import { FallbackSttProvider } from '../../gateway/speech/fallback-stt.ts';
import { FallbackTtsProvider } from '../../gateway/speech/fallback-tts.ts';
import { GroqWhisperSttProvider } from '../../gateway/speech/groq-whisper-stt.ts';
import { WhisperSchema } from '../../gateway/speech/speech-config.ts';
import { ProviderError } from '../../gateway/providers.ts';
import type { SynthesisOptions, TtsProvider } from '../../gateway/speech/types.ts';
import { decodeWav } from '../../audio/wav.ts';
import { startFakeGroqServer, type FakeGroqServer } from '../fakes/fake-groq-server.ts';
import { fixtureModels } from '../fixtures/speech-fixtures.ts';
import { useTempDirs } from '../helpers/temp-dir.ts';
import { speechClip } from './helpers/audio.ts';
import { SILERO_VAD_MODEL } from './helpers/paths.ts';
import { quietLogger, startSherpaStt } from './helpers/providers.ts';

let fake: FakeGroqServer;
beforeAll(async () => {
  fake = await startFakeGroqServer();
});
afterAll(() => fake.close());
const tempDir = useTempDirs('speech-engines');

describe('createSpeechEngines', () => {
  it('starts with no model installed and names the command that installs each one', async () => {
    const config = loadConfig({ env: { VOXGATE_DATA_DIR: tempDir() } });
    const engines = await createSpeechEngines(config, quietLogger());
    try {
      const health = Object.fromEntries(engines.health().map((h) => [h.name, h]));
      expect(health['stt:sherpa']).toMatchObject({ ready: false, install: 'voxgate models pull sherpa-onnx-streaming-zipformer-en-20M-2023-02-17' });
      expect(health['stt:groq']).toMatchObject({ ready: false, detail: 'GROQ_API_KEY is not set' });
      expect(health.stt!.ready).toBe(false);
      expect(health['tts:sherpa']).toMatchObject({ ready: false, install: 'voxgate models pull vits-piper-en_US-amy-low' });
      // espeak-ng needs no download: a fresh install can speak.
      expect(health.tts).toMatchObject({ ready: true });
      expect(health.tts!.detail).toMatch(/^fallback to espeak: TTS voice vits-piper-en_US-amy-low is not installed/);
      expect(health.vad).toMatchObject({ ready: false, install: 'voxgate models pull silero-vad' });
      expect(engines.turnEnd).toBeUndefined();
      const audio = await engines.tts.synthesize('Hello.', { signal: new AbortController().signal });
      expect(audio.samples.length).toBeGreaterThan(0);
      expect(() => engines.stt.createStream({ signal: new AbortController().signal })).toThrow(ProviderError);
    } finally {
      await engines.close();
    }
  });

  it('falls back to Groq when the sherpa model is missing, and health says so', async () => {
    const config = loadConfig({ env: { VOXGATE_DATA_DIR: tempDir(), GROQ_API_KEY: 'k', GROQ_BASE_URL: fake.baseUrl, VOXGATE_TTS: 'espeak' } });
    const engines = await createSpeechEngines(config, quietLogger());
    try {
      const stt = engines.health()[0]!;
      expect(stt.ready).toBe(true);
      expect(stt.detail).toMatch(/^fallback to groq: STT model sherpa-onnx-streaming-zipformer-en-20M-2023-02-17 is not installed/);
      expect(stt.install).toBe('voxgate models pull sherpa-onnx-streaming-zipformer-en-20M-2023-02-17');
      expect(engines.stt.capabilities).toEqual({ streaming: false, partials: false });
      fake.transcriptions.enqueue({ type: 'text', text: 'hello from groq' });
      const stream = engines.stt.createStream({ signal: new AbortController().signal });
      stream.push(speechClip(1));
      expect(await stream.finish()).toEqual({ text: 'hello from groq' });
    } finally {
      await engines.close();
    }
  });

  it('serves everything from configured model paths: sherpa STT with the VAD gate, sherpa TTS, the turn-end detector', async () => {
    const models = fixtureModels();
    const config = loadConfig({
      env: { VOXGATE_DATA_DIR: tempDir(), VOXGATE_STT: 'sherpa', VOXGATE_STT_MODEL: models.asr, VOXGATE_TTS_VOICE: models.tts, VOXGATE_VAD_MODEL: SILERO_VAD_MODEL, VOXGATE_STT_WORKERS: '2' },
    });
    const engines = await createSpeechEngines(config, quietLogger());
    try {
      for (const h of engines.health()) expect(h.ready, `${h.name}: ${h.detail}`).toBe(true);
      expect(engines.health()[1]!.detail).toMatch(/2\/2 workers/);
      expect(engines.turnEnd).toBeDefined();
      expect(engines.stt.capabilities).toEqual({ streaming: true, partials: true });
      const stream = engines.stt.createStream({ signal: new AbortController().signal });
      stream.push(speechClip(2));
      expect((await stream.finish()).text.length).toBeGreaterThan(0);
      const audio = await engines.tts.synthesize('Hello.', { signal: new AbortController().signal });
      expect(audio.sampleRate).toBe(22050);
    } finally {
      await engines.close();
    }
  });
});

describe('STT fallback composition', () => {
  it('replays the whole turn into Groq, sample for sample, when the sherpa stream fails before its final', async () => {
    const sherpa = await startSherpaStt({ gate: false });
    const groq = new GroqWhisperSttProvider({ apiKey: 'k', baseUrl: fake.baseUrl, model: 'whisper-large-v3-turbo', settings: WhisperSchema.parse({ maxRetries: 0 }), logger: quietLogger() });
    const stt = new FallbackSttProvider([sherpa, groq], quietLogger());
    try {
      const audio = speechClip(2);
      const partials: string[] = [];
      const stream = stt.createStream({ signal: new AbortController().signal, onPartial: (t) => partials.push(t) });
      for (let i = 0; i < audio.length; i += 320) stream.push(audio.subarray(i, i + 320));
      // The decoding worker dies mid-turn.
      const slots = (sherpa as unknown as { slots: Array<{ worker?: { stop(): Promise<void> } }> }).slots;
      await slots[0]!.worker!.stop();
      fake.transcriptions.enqueue({ type: 'text', text: 'rescued by groq' });
      const before = fake.transcriptions.requests.length;
      expect(await stream.finish()).toEqual({ text: 'rescued by groq' });
      expect(decodeWav(fake.transcriptions.requests[before]!.file!.bytes).samples).toEqual(audio);
      expect(stt.lastFallback).toMatchObject({ from: 'sherpa', to: 'groq' });
      // While the worker is being replaced, Groq serves; once it is back, health remembers the fallback.
      expect(stt.health().detail).toMatch(/^fallback to groq: .*0\/1 workers/);
      await expect.poll(() => stt.health().detail, { timeout: 30_000 }).toMatch(/^sherpa \(last turn fallback sherpa → groq: sherpa STT worker died/);
    } finally {
      await stt.close();
    }
  });

  it('does not fall back when the turn was aborted', async () => {
    const sherpa = await startSherpaStt({ gate: false });
    const groq = new GroqWhisperSttProvider({ apiKey: 'k', baseUrl: fake.baseUrl, model: 'm', settings: WhisperSchema.parse({}), logger: quietLogger() });
    const stt = new FallbackSttProvider([sherpa, groq], quietLogger());
    const before = fake.transcriptions.requests.length;
    const controller = new AbortController();
    const stream = stt.createStream({ signal: controller.signal });
    stream.push(speechClip(1));
    controller.abort();
    await expect(stream.finish()).rejects.toMatchObject({ reason: 'aborted' });
    expect(fake.transcriptions.requests.length).toBe(before);
    await stt.close();
  });
});

describe('TTS fallback composition', () => {
  /** A provider that is ready but fails every sentence, as a voice whose worker keeps crashing would. */
  const failing: TtsProvider = {
    name: 'failing',
    health: () => ({ name: 'failing', ready: true }),
    voices: () => [],
    synthesize: (_text: string, _options: SynthesisOptions) => Promise.reject(new ProviderError('generation crashed', true, 'failed')),
  };
  const speaking: TtsProvider = {
    name: 'speaking',
    health: () => ({ name: 'speaking', ready: true }),
    voices: () => [{ id: 'v', provider: 'speaking', sampleRate: 16000 }],
    synthesize: () => Promise.resolve({ samples: new Float32Array(160).fill(0.1), sampleRate: 16000 }),
  };

  it('lets the next provider speak a sentence the first one fails, and records why', async () => {
    const tts = new FallbackTtsProvider([failing, speaking], quietLogger());
    const audio = await tts.synthesize('Hi.', { signal: new AbortController().signal });
    expect(audio.samples.length).toBe(160);
    expect(tts.lastFallback).toEqual({ from: 'failing', to: 'speaking', reason: 'failing: generation crashed' });
  });

  it('fails with every reason when no provider can speak', async () => {
    const tts = new FallbackTtsProvider([failing, failing], quietLogger());
    await expect(tts.synthesize('Hi.', { signal: new AbortController().signal })).rejects.toThrow(/no TTS provider could speak \(failing: generation crashed; failing: generation crashed\)/);
  });
});

describe('speech config', () => {
  it('reads the speech env variables and keeps the Groq names the LLM side shares', () => {
    const config = loadConfig({
      env: {
        VOXGATE_DATA_DIR: '/tmp/vg',
        VOXGATE_STT: 'groq,sherpa',
        VOXGATE_TTS: 'espeak',
        VOXGATE_MODELS_DIR: '/models',
        VOXGATE_STT_THREADS: '2',
        VOXGATE_STT_PROVIDER: 'cuda',
        VOXGATE_STT_GATE: 'false',
        VOXGATE_VAD_SILENCE_MS: '900',
        VOXGATE_TTS_SPEED: '1.2',
        VOXGATE_ESPEAK_VOICE: 'en-gb',
        GROQ_API_KEY: 'gsk',
        GROQ_BASE_URL: 'http://127.0.0.1:1',
        VOXGATE_GROQ_WHISPER_MODEL: 'whisper-large-v3',
      },
    });
    expect(config.speech.stt).toEqual(['groq', 'sherpa']);
    expect(config.speech.tts).toEqual(['espeak']);
    expect(config.speech.modelsDir).toBe('/models');
    expect(config.speech.sherpaStt).toMatchObject({ numThreads: 2, provider: 'cuda', gate: false });
    expect(config.speech.vad.silenceMs).toBe(900);
    expect(config.speech.sherpaTts.speed).toBe(1.2);
    expect(config.speech.espeak.voice).toBe('en-gb');
    expect(config.groq).toMatchObject({ apiKey: 'gsk', baseUrl: 'http://127.0.0.1:1', whisperModel: 'whisper-large-v3' });
  });

  it('defaults to what works on a fresh install, and rejects unknown providers', () => {
    const config = loadConfig({ env: {} });
    expect(config.speech.stt).toEqual(['sherpa', 'groq']);
    expect(config.speech.tts).toEqual(['sherpa', 'espeak']);
    expect(config.groq.whisperModel).toBe('whisper-large-v3-turbo');
    expect(path.isAbsolute(config.dataDir)).toBe(true);
    expect(() => loadConfig({ env: { VOXGATE_STT: 'sherpa,azure' } })).toThrow(/speech\.stt/);
  });
});
