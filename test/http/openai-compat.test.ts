/** The OpenAI-compatible endpoints, driven by the official `openai` client pointed at the gateway. */
import OpenAI, { toFile } from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { parseWav } from '../../audio/wav.ts';
import { FakeStt } from '../fakes/fake-stt.ts';
import { FAKE_TTS_FREQUENCY, FAKE_TTS_RATE, fakeTtsDurationMs } from '../fakes/fake-tts.ts';
import { dominantFrequency } from '../audio/signal.ts';
import { useTempDirs } from '../helpers/temp-dir.ts';
import { convertWithSox, toneWav } from './helpers/audio-files.ts';
import { startTestGateway, type TestGateway } from './helpers/test-gateway.ts';

const tempDir = useTempDirs('http-openai');
const running: TestGateway[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((g) => g.stop()));
});

async function setup(): Promise<{ g: TestGateway; client: OpenAI }> {
  const g = await startTestGateway(tempDir());
  running.push(g);
  const client = new OpenAI({ apiKey: g.apiKey, baseURL: `${g.baseUrl}/v1`, maxRetries: 0 });
  return { g, client };
}

describe('OpenAI client → /v1/audio/transcriptions', () => {
  it('json, text and verbose_json', async () => {
    const { g, client } = await setup();
    const file = () => toFile(toneWav(0.8), 'speech.wav', { type: 'audio/wav' });

    const json = await client.audio.transcriptions.create({ file: await file(), model: 'whisper-1' });
    expect(json).toEqual({ text: 'turn on the kitchen' });

    const text = await client.audio.transcriptions.create({ file: await file(), model: 'whisper-1', response_format: 'text' });
    expect(text).toBe('turn on the kitchen');

    const verbose = await client.audio.transcriptions.create({
      file: await file(),
      model: 'whisper-1',
      response_format: 'verbose_json',
      language: 'en',
    });
    expect(verbose).toMatchObject({ task: 'transcribe', language: 'en', text: 'turn on the kitchen', model: 'fake-stt' });
    expect(verbose.duration).toBeCloseTo(0.8, 3);
    expect((g.stt as FakeStt).streams[2]!.streamOptions.language).toBe('en');
  });

  it('takes a FLAC file too', async () => {
    const { client } = await setup();
    const flac = convertWithSox(toneWav(0.4), tempDir(), 'flac');
    const result = await client.audio.transcriptions.create({ file: await toFile(flac, 'note.flac'), model: 'whisper-1' });
    expect(result.text).toBe('turn on');
  });

  it('errors arrive as the client\'s typed errors with our codes', async () => {
    const { g, client } = await setup();
    const badFormat = client.audio.transcriptions.create({ file: await toFile(toneWav(0.2), 'a.wav'), model: 'whisper-1', response_format: 'srt' });
    await expect(badFormat).rejects.toBeInstanceOf(OpenAI.BadRequestError);
    await expect(badFormat).rejects.toMatchObject({ status: 400, code: 'bad_request' });
    // refused before any audio work
    expect((g.stt as FakeStt).streams).toHaveLength(0);

    const garbage = client.audio.transcriptions.create({ file: await toFile(Buffer.from('no audio here'), 'a.ogg'), model: 'whisper-1' });
    await expect(garbage).rejects.toMatchObject({ status: 415, code: 'unsupported_audio' });

    const stranger = new OpenAI({ apiKey: 'sk-not-ours', baseURL: `${g.baseUrl}/v1`, maxRetries: 0 });
    await expect(stranger.audio.speech.create({ model: 'tts-1', input: 'hi', voice: 'tone' })).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
  });
});

describe('OpenAI client → /v1/audio/speech', () => {
  it('wav: a whole WAV file at the voice rate', async () => {
    const { client } = await setup();
    const response = await client.audio.speech.create({ model: 'tts-1', input: 'Good morning. Lights are on.', voice: 'tone', response_format: 'wav' });
    expect(response.headers.get('content-type')).toBe('audio/wav');
    const wav = parseWav(Buffer.from(await response.arrayBuffer()));
    expect(wav.sampleRate).toBe(FAKE_TTS_RATE);
    const expectedMs = fakeTtsDurationMs('Good morning.') + fakeTtsDurationMs('Lights are on.');
    expect((wav.channels[0]!.length / FAKE_TTS_RATE) * 1000).toBeCloseTo(expectedMs, 0);
  });

  it('pcm: raw 16-bit mono at 24 kHz, the tone still at its pitch', async () => {
    const { client } = await setup();
    const response = await client.audio.speech.create({ model: 'gpt-4o-mini-tts', input: 'Hello there.', voice: 'tone', response_format: 'pcm', speed: 1.25 });
    const bytes = Buffer.from(await response.arrayBuffer());
    const samples = new Float32Array(bytes.length / 2);
    for (let i = 0; i < samples.length; i++) samples[i] = bytes.readInt16LE(i * 2) / 32768;
    expect((samples.length / 24000) * 1000).toBeCloseTo(fakeTtsDurationMs('Hello there.'), -1);
    expect(dominantFrequency(samples, 24000, [220, FAKE_TTS_FREQUENCY, 880])).toBe(FAKE_TTS_FREQUENCY);
  });

  it('refuses unknown voices, empty input and formats it cannot make', async () => {
    const { client } = await setup();
    await expect(client.audio.speech.create({ model: 'tts-1', input: 'hi', voice: 'alloy' })).rejects.toMatchObject({ status: 400, code: 'unknown_voice' });
    await expect(client.audio.speech.create({ model: 'tts-1', input: ' ', voice: 'tone' })).rejects.toMatchObject({ status: 400, code: 'empty_text' });
    await expect(client.audio.speech.create({ model: 'tts-1', input: 'hi', voice: 'tone', response_format: 'mp3' })).rejects.toMatchObject({
      status: 400,
      code: 'bad_request',
    });
    await expect(client.audio.speech.create({ model: 'tts-1', input: 'x'.repeat(4097), voice: 'tone' })).rejects.toMatchObject({
      status: 413,
      code: 'text_too_long',
    });
  });
});
