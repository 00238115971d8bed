/**
 * What an upload may cost the gateway (issue 11 items 4 and 5): uploads at rates the uploader
 * picks leave no converter behind, an upload over the speech-job limit is refused before its
 * body is read, and decoding and resampling run on the codec workers, not the event loop.
 */
import { request } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { resamplerStats } from '../../audio/resampler.ts';
import type { ProviderHealth } from '../../gateway/providers.ts';
import type { SttProvider, SttStream } from '../../gateway/speech/types.ts';
import { FakeStt } from '../fakes/fake-stt.ts';
import { useTempDirs } from '../helpers/temp-dir.ts';
import { toneWav } from './helpers/audio-files.ts';
import { startTestGateway, type TestGateway, type TestGatewayOptions } from './helpers/test-gateway.ts';

const tempDir = useTempDirs('http-uploads');
const running: TestGateway[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((g) => g.stop()));
});

async function gateway(options: TestGatewayOptions = {}): Promise<TestGateway> {
  const g = await startTestGateway(tempDir(), options);
  running.push(g);
  return g;
}

function upload(g: TestGateway, wav: Buffer): Promise<Response> {
  const body = new FormData();
  body.append('file', new Blob([wav], { type: 'audio/wav' }), 'clip.wav');
  return fetch(`${g.baseUrl}/api/voice/transcribe`, { method: 'POST', headers: g.auth, body });
}

const MB = 1024 * 1024;
const UPLOADS = 80;

/** A recognizer that keeps nothing but a sample count (FakeStt keeps every stream's audio). */
class CountingStt implements SttProvider {
  readonly name = 'counting-stt';
  readonly capabilities = { streaming: true, partials: false };
  samples = 0;
  health(): ProviderHealth {
    return { name: this.name, ready: true };
  }
  createStream(): SttStream {
    return {
      push: (samples) => void (this.samples += samples.length),
      finish: async () => ({ text: 'ok' }),
    };
  }
}

/** A full garbage collection of this thread (the test's and the gateway's main thread). */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

describe('uploads at rates the uploader picks', () => {
  it('are decoded and resampled on a codec worker, never on the event loop', async () => {
    const g = await gateway();
    const before = { decodes: g.gateway.codec.jobs.decode, mainThread: resamplerStats().conversions };
    const response = await upload(g, toneWav(1, 44100));
    expect(response.status).toBe(200);
    expect(g.gateway.codec.jobs.decode - before.decodes).toBe(1);
    // This (the gateway's main) thread converted nothing.
    expect(resamplerStats().conversions).toBe(before.mainThread);
    // The recognizer got exactly 1 s at 16 kHz.
    expect((g.stt as FakeStt).lastStream!.samples().length).toBe(16000);
  });

  it('leave no converter behind: 80 uploads of 12 s at 80 distinct rates keep the memory bounded', async () => {
    const stt = new CountingStt();
    const g = await gateway({ stt, http: { maxTranscribeAudioSeconds: 60 } });
    // Warm up (worker code, first converters, allocator) before measuring.
    expect((await upload(g, toneWav(12, 31_013))).status).toBe(200);
    const [before] = await g.gateway.codec.workerStats();
    collectGarbage();
    const rssBefore = process.memoryUsage.rss();
    for (let i = 0; i < UPLOADS; i++) {
      const rate = 32_003 + i * 211;
      const response = await upload(g, toneWav(12, rate));
      expect(response.status).toBe(200);
      const { duration_seconds } = (await response.json()) as { duration_seconds: number };
      expect(duration_seconds).toBeCloseTo(12, 2);
    }
    expect(stt.samples).toBe((UPLOADS + 1) * 12 * 16000);
    const [after] = await g.gateway.codec.workerStats();
    collectGarbage();
    const grownMb = (process.memoryUsage.rss() - rssBefore) / MB;
    // One converter per rate (~8 MB of wasm buffers, ~3 MB of it touched by a 12 s clip) stayed for good.
    expect(after!.converters).toBe(before!.converters);
    expect(grownMb).toBeLessThan(200);
  });
});

describe('the speech-job limit', () => {
  it('refuses an upload over the limit with busy before reading its body', async () => {
    // The first transcription holds the only slot: its recognizer takes a minute to finish.
    const g = await gateway({ stt: new FakeStt({ finishDelayMs: 60_000 }), http: { maxConcurrentSpeechJobs: 1, bodyTimeoutMs: 3_000 } });
    const first = upload(g, toneWav(1)).catch(() => undefined);
    while (g.gateway.codec.jobs.decode === 0) await new Promise((resolve) => setTimeout(resolve, 10));

    // The second declares a 5 MB body and sends only its first bytes. Were the body read first,
    // the answer would be request_timeout once bodyTimeoutMs passed; the limit comes first.
    const boundary = 'voxgate-test-boundary';
    const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.wav"\r\nContent-Type: audio/wav\r\n\r\n`;
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(`${g.baseUrl}/api/voice/transcribe`, {
        method: 'POST',
        headers: { ...g.auth, 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': String(5 * MB) },
      });
      req.on('response', (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => {
          resolve({ status: res.statusCode!, body });
          req.destroy();
        });
      });
      req.on('error', reject);
      req.write(head);
      req.write(Buffer.alloc(64 * 1024));
    });
    expect(answer.status).toBe(503);
    expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 'busy' } });
    await g.stop();
    await first;
  });
});
