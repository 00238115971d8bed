/** The HTTP API's small parts on their own: rate limiter, job gate, event fan-out, audio decoding, server errors. */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeUploadedAudio, findAudioConverter } from '../../gateway/http/audio-decode.ts';
import { combineSessionEvents } from '../../gateway/session/events.ts';
import { HttpError } from '../../gateway/http/http-errors.ts';
import { createHttpServer } from '../../gateway/http/http-server.ts';
import { RateLimiter } from '../../gateway/http/rate-limiter.ts';
import { SpeechJobGate } from '../../gateway/http/speech-jobs.ts';
import { encodeWavPcm16, parseWav, pcm16Bytes, streamingWavHeader } from '../../audio/wav.ts';
import { sine, toneAmplitude } from '../audio/signal.ts';
import { useTempDirs } from '../helpers/temp-dir.ts';

const tempDir = useTempDirs('http-units');
const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

function httpError(fn: () => unknown): HttpError {
  try {
    fn();
  } catch (err) {
    if (err instanceof HttpError) return err;
    throw err;
  }
  throw new Error('no error thrown');
}

describe('RateLimiter', () => {
  it('allows the burst, then one request per refill interval, with a Retry-After that says when', () => {
    let now = 0;
    const limiter = new RateLimiter(6, () => now); // one token per 10 s
    for (let i = 0; i < 6; i++) limiter.take('a');
    const refused = httpError(() => limiter.take('a'));
    expect(refused.code).toBe('rate_limited');
    expect(refused.headers['retry-after']).toBe('10');
    limiter.take('b'); // keys do not share buckets
    now += 9_000;
    expect(httpError(() => limiter.take('a')).headers['retry-after']).toBe('1');
    now += 1_000;
    limiter.take('a');
    expect(() => limiter.take('a')).toThrow(HttpError);
    now += 10 * 60_000; // full again (and swept): the whole burst is back
    for (let i = 0; i < 6; i++) limiter.take('a');
  });
});

describe('SpeechJobGate', () => {
  it('runs up to its limit at once and frees a slot when a job fails', async () => {
    const gate = new SpeechJobGate(2);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const first = gate.run(() => held);
    const second = gate.run(() => held);
    await expect(gate.run(async () => 'third')).rejects.toMatchObject({ code: 'busy', status: 503 });
    release();
    await Promise.all([first, second]);
    await expect(gate.run(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(gate.active).toBe(0);
    expect(await gate.run(async () => 'ok')).toBe('ok');
  });
});

describe('combineSessionEvents', () => {
  it('gives every listener each event, even after one throws, then rethrows the first error', () => {
    const seen: string[] = [];
    const combined = combineSessionEvents(
      { transcript: () => void seen.push('a') , reply: () => { throw new Error('first fails'); } },
      undefined,
      { transcript: () => void seen.push('b'), reply: () => void seen.push('b-reply') },
    );
    combined.transcript!({ deviceId: 'd', turn: 1, text: 'x' });
    expect(seen).toEqual(['a', 'b']);
    expect(() => combined.reply!({ deviceId: 'd', turn: 1, text: 'x' })).toThrow('first fails');
    expect(seen).toContain('b-reply');
    expect(combined.status).toBeUndefined();
  });
});

describe('decodeUploadedAudio', () => {
  const options = { maxSeconds: 10, timeoutMs: 20_000 };

  it('decodes WAV itself at any rate to 16 kHz, keeping the signal', async () => {
    const decoded = await decodeUploadedAudio(encodeWavPcm16(sine(1000, 48000, 0.5, 0.5), 48000), undefined, options);
    expect(decoded.decoder).toBe('wav');
    expect(decoded.durationSeconds).toBeCloseTo(0.5, 5);
    expect(Math.abs(decoded.samples.length - 8000)).toBeLessThan(10);
    expect(toneAmplitude(decoded.samples, 1000, 16000, 800, 7200)).toBeCloseTo(0.5, 1);
  });

  it('without a converter, anything but WAV is refused and says what to install', async () => {
    await expect(decodeUploadedAudio(Buffer.from('fLaC\u0000\u0000'), undefined, options)).rejects.toMatchObject({
      code: 'unsupported_audio',
      message: expect.stringContaining('install ffmpeg or sox'),
    });
  });

  it('finds sox here, and nothing when no candidate exists', async () => {
    expect(await findAudioConverter([{ name: 'ffmpeg', command: 'voxgate-no-such-ffmpeg' }])).toBeUndefined();
    expect(await findAudioConverter([{ name: 'sox', command: 'sox' }])).toEqual({ name: 'sox', command: 'sox' });
  });

  it('hands a WAV it cannot read itself (µ-law) to the converter', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'in.wav'), encodeWavPcm16(sine(500, 8000, 0.5, 0.5), 8000));
    execFileSync('sox', [path.join(dir, 'in.wav'), '-e', 'u-law', path.join(dir, 'ulaw.wav')]);
    const ulaw = readFileSync(path.join(dir, 'ulaw.wav'));
    await expect(decodeUploadedAudio(ulaw, undefined, options)).rejects.toMatchObject({ code: 'unsupported_audio' });
    const decoded = await decodeUploadedAudio(ulaw, { name: 'sox', command: 'sox' }, { ...options, filename: 'x.wav' });
    expect(decoded.decoder).toBe('sox');
    expect(decoded.durationSeconds).toBeCloseTo(0.5, 2);
    expect(toneAmplitude(decoded.samples, 500, 16000, 800, 7200)).toBeGreaterThan(0.3);
  });

  it('stops a converter whose output runs past the audio limit', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'in.wav'), encodeWavPcm16(sine(500, 8000, 3, 0.5), 8000));
    execFileSync('sox', [path.join(dir, 'in.wav'), path.join(dir, 'long.flac')]);
    const flac = readFileSync(path.join(dir, 'long.flac'));
    await expect(decodeUploadedAudio(flac, { name: 'sox', command: 'sox' }, { ...options, maxSeconds: 1, filename: 'long.flac' })).rejects.toMatchObject({
      code: 'payload_too_large',
    });
  });
});

describe('streaming WAV', () => {
  it('a header of unknown length plus PCM pieces reads back as one WAV', () => {
    const a = sine(440, 24000, 0.1, 0.4);
    const b = sine(440, 24000, 0.2, 0.4);
    const file = Buffer.concat([streamingWavHeader(24000), pcm16Bytes(a), pcm16Bytes(b)]);
    const wav = parseWav(file);
    expect(wav.sampleRate).toBe(24000);
    expect(wav.channels[0]!.length).toBe(a.length + b.length);
    expect(file.readUInt32LE(40)).toBe(0xffffffff);
  });
});

describe('HTTP server', () => {
  it('turns a failing handler into a logged 500 JSON error and keeps serving', async () => {
    const lines: Array<{ msg: string }> = [];
    const logger = pino({ level: 'error' }, { write: (line: string) => void lines.push(JSON.parse(line) as { msg: string }) });
    const http = createHttpServer(logger);
    http.route('GET', '/boom', () => {
      throw new Error('handler bug');
    });
    http.route('GET', '/ok', (_req, res) => void res.end('fine'));
    const port = await http.listen('127.0.0.1', 0);
    cleanup.push(() => http.close());
    const boom = await fetch(`http://127.0.0.1:${port}/boom`);
    expect(boom.status).toBe(500);
    expect(await boom.json()).toEqual({ error: { code: 'internal', message: 'internal error' } });
    expect(lines.filter((l) => l.msg === 'http handler failed')).toHaveLength(1);
    expect(await (await fetch(`http://127.0.0.1:${port}/ok`)).text()).toBe('fine');
  });
});
