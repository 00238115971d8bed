/**
 * End to end: the real gateway (startGateway) with the configured engines, the committed
 * fixture sherpa models and espeak-ng, its Wyoming server on port 0. The ready line names
 * the port; Home Assistant's three operations (describe, a transcription, a streaming
 * synthesis) work over TCP; the recognizer hears exactly what the client sent.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pcm16ToFloat32 } from '../../audio/pcm16.ts';
import { getResampler } from '../../audio/resampler.ts';
import { decodeWav } from '../../audio/wav.ts';
import { loadSherpa } from '../../gateway/speech/sherpa/native.ts';
import { recognizerConfig, resolveSttModel } from '../../gateway/speech/sherpa/stt-model.ts';
import { SherpaSttSchema } from '../../gateway/speech/speech-config.ts';
import { E2eGateway } from '../e2e/harness.ts';
import { fixtureModels } from '../fixtures/speech-fixtures.ts';
import { pcm16, sendAudio, WyomingClient, type ClientEvent } from './wyoming-client.ts';

const TAIL_PADDING_MS = SherpaSttSchema.parse({}).tailPaddingMs;

/** What the fixture recognizer makes of exactly these 16 kHz samples, decoded here directly. */
function decodeDirectly(samples: Float32Array): string {
  const settings = SherpaSttSchema.parse({ model: fixtureModels().asr });
  const recognizer = new (loadSherpa().OnlineRecognizer)(recognizerConfig(resolveSttModel(settings, '/none'), settings));
  const stream = recognizer.createStream();
  stream.acceptWaveform({ samples, sampleRate: 16000 });
  stream.acceptWaveform({ samples: new Float32Array((TAIL_PADDING_MS / 1000) * 16000), sampleRate: 16000 });
  stream.inputFinished();
  while (recognizer.isReady(stream)) recognizer.decode(stream);
  return recognizer.getResult(stream).text.trim();
}

/** Speech made by espeak-ng (22050 Hz mono). */
function espeakSpeech(text: string, dir: string): { samples: Float32Array; sampleRate: number } {
  const file = path.join(dir, 'speech.wav');
  execFileSync('espeak-ng', ['-v', 'en-us', '-w', file, text]);
  const wav = decodeWav(readFileSync(file));
  return { samples: wav.samples, sampleRate: wav.sampleRate };
}

const transcriptOf = (events: ClientEvent[]) => events.find((e) => e.type === 'transcript')!.data.text as string;

describe('the gateway’s Wyoming server (real engines)', () => {
  let gateway: E2eGateway;
  let workDir: string;
  let port: number;

  beforeAll(async () => {
    workDir = mkdtempSync(path.join(os.tmpdir(), 'voxgate-wyoming-e2e-'));
    const models = fixtureModels();
    gateway = await E2eGateway.start({
      overrides: {
        'wyoming.port': 0,
        'wyoming.zeroconf': false,
        'speech.stt': ['sherpa'],
        'speech.sherpaStt.model': models.asr,
        'speech.sherpaTts.voice': models.tts,
      },
    });
    port = gateway.gateway.wyomingPort!;
  }, 120_000);

  afterAll(async () => {
    await gateway?.dispose();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it('the ready line names the Wyoming port, and /health reports the server', async () => {
    expect(port).toBeGreaterThan(0);
    const ready = gateway.log.lines.find((l) => l.msg === 'ready')!;
    expect(ready.wyomingPort).toBe(port);
    const health = (await (await fetch(`http://127.0.0.1:${gateway.gateway.httpPort}/health`)).json()) as { engines: Array<{ name: string; ready: boolean }> };
    expect(health.engines).toContainEqual(expect.objectContaining({ name: 'wyoming', ready: true }));
  });

  it('describe: the fixture recognizer and voices, installed', async () => {
    const client = await WyomingClient.connect(port);
    client.send('describe');
    const info = (await client.next(1_000))!;
    client.close();
    const data = info.data as { asr: Array<{ models: unknown[]; supports_transcript_streaming: boolean }>; tts: Array<{ voices: Array<{ name: string }> }> };
    expect(data.asr[0]!.models).toEqual([expect.objectContaining({ name: 'streaming-zipformer2-tiny', installed: true, languages: ['en'] })]);
    expect(data.asr[0]!.supports_transcript_streaming).toBe(true);
    expect(data.tts[0]!.voices[0]).toEqual(expect.objectContaining({ name: 'piper-tiny', installed: true, languages: ['en_US'] }));
    expect(data.tts[0]!.voices).toContainEqual(expect.objectContaining({ name: 'en-us', installed: true, languages: ['en_US'] }));
  });

  it('transcribes 16 kHz audio as Home Assistant sends it: exactly what the recognizer makes of those samples', async () => {
    const speech = espeakSpeech('turn on the kitchen light', workDir);
    const at16k = (await getResampler(speech.sampleRate, 16000)).resample(speech.samples);
    const bytes = pcm16(at16k);
    const expected = decodeDirectly(pcm16ToFloat32(bytes));
    expect(expected.length).toBeGreaterThan(0);

    const client = await WyomingClient.connect(port);
    client.send('transcribe', { language: 'en' });
    sendAudio(client, bytes);
    const events = await client.until('transcript-stop', 30_000);
    client.close();
    expect(transcriptOf(events)).toBe(expected);
    expect(events[0]!.type).toBe('transcript-start');
    expect(events.filter((e) => e.type === 'transcript-chunk').map((e) => e.data.text).join('')).toBe(expected);
    expect(events.map((e) => e.type).slice(-2)).toEqual(['transcript', 'transcript-stop']);
  }, 60_000);

  it('transcribes audio at another rate (espeak-ng’s 22050 Hz), resampled to 16 kHz in the gateway', async () => {
    const speech = espeakSpeech('what is the weather tomorrow', workDir);
    const bytes = pcm16(speech.samples);
    const expected = decodeDirectly((await getResampler(speech.sampleRate, 16000)).resample(pcm16ToFloat32(bytes)));

    const client = await WyomingClient.connect(port);
    sendAudio(client, bytes, { rate: speech.sampleRate, width: 2, channels: 1 });
    const events = await client.until('transcript-stop', 30_000);
    client.close();
    expect(transcriptOf(events)).toBe(expected);
  }, 60_000);

  it('streaming synthesis with an espeak-ng voice: one audio group per sentence, then synthesize-stopped', async () => {
    const client = await WyomingClient.connect(port);
    client.send('synthesize-start', { voice: { name: 'en-us' } });
    client.send('synthesize-chunk', { text: 'The kitchen light is on' });
    client.send('synthesize-chunk', { text: '. The hall light is off. ' });
    const first = await client.until('audio-stop', 30_000); // before synthesize-stop: spoken as soon as complete
    client.send('synthesize', { text: 'The kitchen light is on. The hall light is off.' });
    client.send('synthesize-stop');
    const rest = await client.until('synthesize-stopped', 30_000);
    client.close();
    const events = [...first, ...rest];
    const starts = events.filter((e) => e.type === 'audio-start');
    expect(starts).toHaveLength(2);
    for (const s of starts) expect(s.data).toMatchObject({ rate: 22050, width: 2, channels: 1 });
    expect(events.filter((e) => e.type === 'audio-stop')).toHaveLength(2);
    const seconds = events.filter((e) => e.type === 'audio-chunk').reduce((n, e) => n + e.payload.length / 2, 0) / 22050;
    expect(seconds).toBeGreaterThan(1.5); // two spoken sentences, not silence
  }, 60_000);

  it('synthesize with the default voice (the fixture piper voice): one audio group', async () => {
    const client = await WyomingClient.connect(port);
    client.send('synthesize', { text: 'Hello there. How are you?' });
    const events = await client.until('audio-stop', 30_000);
    client.close();
    expect(events.filter((e) => e.type === 'audio-start')).toHaveLength(1);
    const chunks = events.filter((e) => e.type === 'audio-chunk');
    expect(chunks.length).toBeGreaterThan(0);
    expect(chunks.every((c) => c.data.rate === events[0]!.data.rate)).toBe(true);
  }, 60_000);
});
