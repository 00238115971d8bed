/** The REST speech API end to end: a real gateway with fake engines, called with fetch. */
import { afterEach, describe, expect, it } from 'vitest';
import type { SynthesisOptions, SynthesizedAudio, TtsProvider } from '../../gateway/speech/types.ts';
import { decodeWav, parseWav } from '../../audio/wav.ts';
import { FakeStt } from '../fakes/fake-stt.ts';
import { FAKE_TTS_RATE, FakeTts, fakeTtsDurationMs } from '../fakes/fake-tts.ts';
import { useTempDirs } from '../helpers/temp-dir.ts';
import { convertWithSox, toneWav } from './helpers/audio-files.ts';
import { startTestGateway, type TestGateway, type TestGatewayOptions } from './helpers/test-gateway.ts';

const tempDir = useTempDirs('http-rest');
const running: TestGateway[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((g) => g.stop()));
});

async function gateway(options: TestGatewayOptions = {}): Promise<TestGateway> {
  const g = await startTestGateway(tempDir(), options);
  running.push(g);
  return g;
}

function form(file: Buffer | undefined, filename = 'clip.wav', fields: Record<string, string> = {}, type = 'audio/wav'): FormData {
  const body = new FormData();
  if (file) body.append('file', new Blob([file], { type }), filename);
  for (const [name, value] of Object.entries(fields)) body.append(name, value);
  return body;
}

async function errorOf(response: Response): Promise<{ status: number; code: string; message: string }> {
  const body = (await response.json()) as { error: { code: string; message: string } };
  return { status: response.status, ...body.error };
}

const json = (g: TestGateway, body: unknown) => ({
  method: 'POST',
  headers: { ...g.auth, 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

describe('POST /api/voice/transcribe', () => {
  it('transcribes a WAV at any rate: text, language, duration and model', async () => {
    const g = await gateway();
    const response = await fetch(`${g.baseUrl}/api/voice/transcribe`, {
      method: 'POST',
      headers: g.auth,
      body: form(toneWav(1, 44100), 'clip.wav', { language: 'en' }),
    });
    expect(response.status).toBe(200);
    // FakeStt hears one word per voiced 200 ms: 1 s of tone is five words.
    expect(await response.json()).toEqual({ text: 'turn on the kitchen light', language: 'en', duration_seconds: 1, model: 'fake-stt' });
    // The recognizer got the audio at 16 kHz.
    const heard = (g.stt as FakeStt).lastStream!.samples();
    expect(Math.abs(heard.length - 16000)).toBeLessThan(50);
  });

  it('decodes FLAC and Ogg through sox, by file name or by media type', async () => {
    const g = await gateway();
    const wav = toneWav(0.6);
    const dir = tempDir();
    const cases = [
      form(convertWithSox(wav, dir, 'flac'), 'clip.flac', {}, 'application/octet-stream'),
      form(convertWithSox(wav, dir, 'flac'), 'blob', {}, 'audio/flac'),
      form(convertWithSox(wav, dir, 'ogg'), 'voice.ogg', {}, 'audio/ogg'),
    ];
    for (const body of cases) {
      const response = await fetch(`${g.baseUrl}/api/voice/transcribe`, { method: 'POST', headers: g.auth, body });
      expect(response.status).toBe(200);
      const result = (await response.json()) as { text: string; language: string | null; duration_seconds: number };
      expect(result.text).toBe('turn on the');
      expect(result.language).toBeNull();
      expect(result.duration_seconds).toBeCloseTo(0.6, 1);
    }
  });

  it('refuses what it cannot use with a JSON error code', async () => {
    const g = await gateway({ http: { maxUploadBytes: 60_000, maxTranscribeAudioSeconds: 2 } });
    const post = (body: FormData | string, headers: Record<string, string> = {}) =>
      fetch(`${g.baseUrl}/api/voice/transcribe`, { method: 'POST', headers: { ...g.auth, ...headers }, body });

    expect(await errorOf(await post(form(Buffer.from('definitely not audio, just text'), 'x.mp3', {}, 'audio/mpeg')))).toMatchObject({
      status: 415,
      code: 'unsupported_audio',
    });
    expect(await errorOf(await post(form(Buffer.from('RIFF\u0000\u0000\u0000\u0000WAVEjunk'), 'x.wav')))).toMatchObject({
      status: 415,
      code: 'unsupported_audio',
    });
    expect(await errorOf(await post(form(Buffer.alloc(0))))).toMatchObject({ status: 415, code: 'unsupported_audio' });
    expect(await errorOf(await post(form(undefined, 'x', { language: 'en' })))).toMatchObject({ status: 400, code: 'bad_request' });
    expect(await errorOf(await post('{"file":"x"}', { 'content-type': 'application/json' }))).toMatchObject({
      status: 415,
      code: 'unsupported_media_type',
    });
    expect(await errorOf(await post(form(toneWav(0.5), 'clip.wav', { language: 'en; rm -rf' })))).toMatchObject({
      status: 400,
      code: 'bad_request',
    });
    // 3 s of 16 kHz WAV is 96 kB: over the upload cap
    expect(await errorOf(await post(form(toneWav(3))))).toMatchObject({ status: 413, code: 'payload_too_large' });
    // 2.5 s at 8 kHz is 40 kB (under the cap) but longer than the 2 s audio limit
    expect(await errorOf(await post(form(toneWav(2.5, 8000))))).toMatchObject({ status: 413, code: 'payload_too_large' });
    expect((g.stt as FakeStt).streams).toHaveLength(0);

    // and the gateway still serves
    expect((await post(form(toneWav(0.4)))).status).toBe(200);
  });

  it('answers stt_unavailable when the recognizer is down or fails', async () => {
    const down = await gateway({ stt: new FakeStt({ fail: 'create' }) });
    const response = await fetch(`${down.baseUrl}/api/voice/transcribe`, { method: 'POST', headers: down.auth, body: form(toneWav(0.4)) });
    expect(await errorOf(response)).toMatchObject({ status: 503, code: 'stt_unavailable' });

    // healthy by its own account, but the stream fails at finish
    const flaky = new FakeStt({ fail: 'finish' });
    flaky.health = () => ({ name: 'flaky', ready: true });
    const g = await gateway({ stt: flaky });
    const failed = await fetch(`${g.baseUrl}/api/voice/transcribe`, { method: 'POST', headers: g.auth, body: form(toneWav(0.4)) });
    const error = await errorOf(failed);
    expect(error).toMatchObject({ status: 503, code: 'stt_unavailable' });
    expect(error.message).toContain('fake stt failed on finish');
  });
});

describe('API keys on the HTTP API', () => {
  it('needs a live key: missing, wrong or revoked keys get 401 with a Bearer challenge', async () => {
    const g = await gateway();
    const voices = (headers: Record<string, string>) => fetch(`${g.baseUrl}/api/voice/voices`, { headers });
    const missing = await voices({});
    expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await errorOf(missing)).toMatchObject({ status: 401, code: 'unauthorized' });
    expect((await voices({ authorization: `Bearer ${g.apiKey}x` })).status).toBe(401);
    expect((await voices({ authorization: `Bearer ${g.device.token}` })).status).toBe(401);
    expect((await voices({ authorization: g.apiKey })).status).toBe(401);
    expect((await voices(g.auth)).status).toBe(200);
    g.gateway.store.apiKeys.revoke('tests');
    expect((await voices(g.auth)).status).toBe(401);
    // health and the console stay open
    expect((await fetch(`${g.baseUrl}/health`)).status).toBe(200);
    expect((await fetch(`${g.baseUrl}/`)).status).toBe(200);
  });

  it('rate-limits per key, with Retry-After; other keys are not affected', async () => {
    const g = await gateway({ http: { rateLimitPerMinute: 3 } });
    const other = g.gateway.store.apiKeys.create('other').key;
    const voices = (key: string) => fetch(`${g.baseUrl}/api/voice/voices`, { headers: { authorization: `Bearer ${key}` } });
    for (let i = 0; i < 3; i++) expect((await voices(g.apiKey)).status).toBe(200);
    const limited = await voices(g.apiKey);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await errorOf(limited)).toMatchObject({ status: 429, code: 'rate_limited' });
    expect((await voices(other)).status).toBe(200);
  });
});

describe('POST /api/voice/synthesize', () => {
  it('returns a WAV as base64 with its rate, duration, voice and speed', async () => {
    const g = await gateway();
    const text = 'Hello there. How are you today?';
    const response = await fetch(`${g.baseUrl}/api/voice/synthesize`, json(g, { text, voice: 'tone', speed: 1.5 }));
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    const expectedSeconds = (fakeTtsDurationMs('Hello there.') + fakeTtsDurationMs('How are you today?')) / 1000;
    expect(body).toMatchObject({ format: 'wav', sample_rate: FAKE_TTS_RATE, voice: 'tone', speed: 1.5 });
    expect(body.duration_seconds).toBeCloseTo(expectedSeconds, 2);
    const wav = decodeWav(Buffer.from(body.audio_base64 as string, 'base64'));
    expect(wav.sampleRate).toBe(FAKE_TTS_RATE);
    expect(wav.samples.length / FAKE_TTS_RATE).toBeCloseTo(expectedSeconds, 2);
    // sentence by sentence, with the voice and speed asked for
    expect((g.tts as FakeTts).requests.map((r) => r.text)).toEqual(['Hello there.', 'How are you today?']);

    const plain = (await (await fetch(`${g.baseUrl}/api/voice/synthesize`, json(g, { text: 'Hi.' }))).json()) as Record<string, unknown>;
    expect(plain).toMatchObject({ voice: null, speed: 1 });
  });

  it('refuses bad input with clear codes and never calls the engine for it', async () => {
    const g = await gateway({ http: { maxSpeechTextChars: 40, maxJsonBodyBytes: 2_000 } });
    const post = (init: RequestInit) => fetch(`${g.baseUrl}/api/voice/synthesize`, init);
    const cases: Array<[RequestInit, number, string]> = [
      [json(g, { text: '' }), 400, 'empty_text'],
      [json(g, { text: '   \n ' }), 400, 'empty_text'],
      [json(g, {}), 400, 'empty_text'],
      [json(g, { text: 42 }), 400, 'bad_request'],
      [json(g, { text: 'x'.repeat(41) }), 413, 'text_too_long'],
      [json(g, { text: 'hi', voice: 'alloy' }), 400, 'unknown_voice'],
      [json(g, { text: 'hi', speed: 9 }), 400, 'bad_request'],
      [json(g, { text: 'hi', speed: 'fast' }), 400, 'bad_request'],
      [{ method: 'POST', headers: { ...g.auth, 'content-type': 'text/plain' }, body: 'hi' }, 415, 'unsupported_media_type'],
      [{ method: 'POST', headers: { ...g.auth, 'content-type': 'application/json' }, body: '{"text": "hi"' }, 400, 'bad_request'],
      [{ method: 'POST', headers: { ...g.auth, 'content-type': 'application/json' }, body: '["hi"]' }, 400, 'bad_request'],
      [json(g, { text: 'hi', padding: 'x'.repeat(3_000) }), 413, 'payload_too_large'],
    ];
    for (const [init, status, code] of cases) {
      const error = await errorOf(await post(init));
      expect(error, JSON.stringify(init.body).slice(0, 80)).toMatchObject({ status, code });
      expect(error.message.length).toBeGreaterThan(5);
    }
    const unknownVoice = await errorOf(await post(json(g, { text: 'hi', voice: 'alloy' })));
    expect(unknownVoice.message).toContain('tone');
    expect((g.tts as FakeTts).requests).toHaveLength(0);
  });

  it('answers tts_unavailable when synthesis is down', async () => {
    const g = await gateway({ tts: new FakeTts({ fail: true }) });
    const error = await errorOf(await fetch(`${g.baseUrl}/api/voice/synthesize`, json(g, { text: 'Hello.' })));
    expect(error).toMatchObject({ status: 503, code: 'tts_unavailable' });
  });
});

/** A FakeTts whose second and later sentences wait until the test lets them go. */
class GatedTts implements TtsProvider {
  readonly name = 'gated';
  readonly inner = new FakeTts();
  private release!: () => void;
  readonly released = new Promise<void>((resolve) => (this.release = resolve));
  calls = 0;
  health = () => this.inner.health();
  voices = () => this.inner.voices();
  async synthesize(text: string, options: SynthesisOptions): Promise<SynthesizedAudio> {
    if (this.calls++ > 0) await this.released;
    return this.inner.synthesize(text, options);
  }
  open(): void {
    this.release();
  }
}

describe('POST /api/voice/audio-stream', () => {
  it('sends the first sentence as audio/wav before the next one is synthesized', async () => {
    const tts = new GatedTts();
    const g = await gateway({ tts });
    const response = await fetch(`${g.baseUrl}/api/voice/audio-stream`, json(g, { text: 'First sentence here. And a second one.' }));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('audio/wav');
    const reader = response.body!.getReader();
    const chunks: Uint8Array[] = [];
    let received = 0;
    const firstBytes = Math.round((fakeTtsDurationMs('First sentence here.') * FAKE_TTS_RATE) / 1000) * 2 + 44;
    // The second sentence cannot be made until we open the gate: all of this is the first one.
    while (received < firstBytes) {
      const { value, done } = await reader.read();
      expect(done).toBe(false);
      chunks.push(value!);
      received += value!.length;
    }
    expect(received).toBe(firstBytes);
    expect(tts.calls).toBe(2);
    tts.open();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      chunks.push(value);
    }
    const wav = parseWav(Buffer.concat(chunks));
    expect(wav.sampleRate).toBe(FAKE_TTS_RATE);
    const expectedMs = fakeTtsDurationMs('First sentence here.') + fakeTtsDurationMs('And a second one.');
    expect((wav.channels[0]!.length / FAKE_TTS_RATE) * 1000).toBeCloseTo(expectedMs, -1);
  });

  it('checks its input before any audio is sent', async () => {
    const g = await gateway();
    const error = await errorOf(await fetch(`${g.baseUrl}/api/voice/audio-stream`, json(g, { text: 'hi', voice: 'nobody' })));
    expect(error).toMatchObject({ status: 400, code: 'unknown_voice' });
  });
});

describe('speech job limit', () => {
  it('refuses a speech request over the concurrency limit with busy, then serves again', async () => {
    const tts = new GatedTts();
    const g = await gateway({ tts, http: { maxConcurrentSpeechJobs: 1 } });
    // Two sentences: the second waits at the gate, holding the only slot.
    const first = fetch(`${g.baseUrl}/api/voice/synthesize`, json(g, { text: 'One. Two.' }));
    while (tts.calls < 2) await new Promise((resolve) => setTimeout(resolve, 10));
    const busy = await fetch(`${g.baseUrl}/api/voice/synthesize`, json(g, { text: 'Three.' }));
    expect(busy.headers.get('retry-after')).toBe('1');
    expect(await errorOf(busy)).toMatchObject({ status: 503, code: 'busy' });
    tts.open();
    expect((await first).status).toBe(200);
    expect((await fetch(`${g.baseUrl}/api/voice/synthesize`, json(g, { text: 'Four.' }))).status).toBe(200);
  });
});

describe('GET /api/voice/voices and routing', () => {
  it('lists the voices', async () => {
    const g = await gateway();
    const response = await fetch(`${g.baseUrl}/api/voice/voices`, { headers: g.auth });
    expect(await response.json()).toEqual({ voices: [{ id: 'tone', provider: 'fake-tts', language: 'en', sample_rate: FAKE_TTS_RATE }] });
  });

  it('answers unknown paths with 404 and wrong methods with 405 + Allow, as JSON', async () => {
    const g = await gateway();
    expect(await errorOf(await fetch(`${g.baseUrl}/api/nothing`, { headers: g.auth }))).toMatchObject({ status: 404, code: 'not_found' });
    const wrong = await fetch(`${g.baseUrl}/api/voice/synthesize`, { headers: g.auth });
    expect(wrong.headers.get('allow')).toBe('POST');
    expect(await errorOf(wrong)).toMatchObject({ status: 405, code: 'method_not_allowed' });
  });
});
