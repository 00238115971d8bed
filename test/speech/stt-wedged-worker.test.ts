/**
 * STT backpressure and a stuck worker (issue 11 item 7): a stream never gives its worker more
 * than STT_WINDOW_MS of audio it has not acknowledged, keeps a bounded queue of the rest, and a
 * worker that never answers `finish` ends the turn with `stt_unavailable` within the configured
 * timeout instead of leaving the device `thinking`. The worker is a stand-in that gets stuck
 * as a real one can (test/fakes/wedged-stt-worker.ts); the model is the real fixture.
 */
import { BroadcastChannel } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProviderError } from '../../gateway/providers.ts';
import { createSessionHub } from '../../gateway/session/session-hub.ts';
import { SherpaSttProvider, STT_WINDOW_MS, type SherpaSttStream } from '../../gateway/speech/sherpa/sherpa-stt.ts';
import { SherpaSttSchema } from '../../gateway/speech/speech-config.ts';
import { FakeLink } from '../fakes/fake-link.ts';
import { FakeRecorder } from '../fakes/fake-recorder.ts';
import { FakeResponder } from '../fakes/fake-responder.ts';
import { FakeTts } from '../fakes/fake-tts.ts';
import { WEDGED_STT_CHANNEL } from '../fakes/wedged-stt-worker.ts';
import { fixtureModels } from '../fixtures/speech-fixtures.ts';
import { Device, pcmPackets, speechSamples, TEST_LIMITS } from '../session/harness.ts';
import { quietLogger } from './helpers/providers.ts';

const FINISH_TIMEOUT_MS = 1_500;
const WINDOW_SAMPLES = (STT_WINDOW_MS / 1000) * 16000;

/** What the stuck worker reports: samples received, and whether it is stuck in `finish` now. */
const heard = { received: 0, wedged: false };
const channel = new BroadcastChannel(WEDGED_STT_CHANNEL);
channel.onmessage = (event) => Object.assign(heard, (event as MessageEvent).data);

async function until(what: string, condition: () => boolean): Promise<void> {
  for (let waited = 0; !condition(); waited += 10) {
    if (waited > 10_000) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

let provider: SherpaSttProvider;
beforeAll(async () => {
  provider = new SherpaSttProvider({
    settings: SherpaSttSchema.parse({ model: fixtureModels().asr, gate: false, finishTimeoutMs: FINISH_TIMEOUT_MS, maxQueuedMs: 5_000 }),
    modelsDir: '/nonexistent-models-dir',
    modelLoadTimeoutMs: 60_000,
    logger: quietLogger(),
    workerModule: new URL('../fakes/wedged-stt-worker.ts', import.meta.url),
  });
  await provider.start();
  expect(provider.health().ready).toBe(true);
}, 60_000);
afterAll(async () => {
  channel.close();
  await provider?.close(); // the stuck worker is abandoned after its stop timeout
}, 30_000);

describe('STT backpressure', () => {
  it('gives a worker that does not keep up only its window, queues the rest, and fails the stream past the bound', async () => {
    const stream = provider.createStream({ signal: new AbortController().signal }) as SherpaSttStream;
    const frame = 960; // 60 ms, as a device sends
    const audio = new Float32Array(4 * 16000).fill(0.1);
    for (let at = 0; at < audio.length; at += frame) stream.push(audio.subarray(at, at + frame));
    // Whole frames up to the window go out; the worker acknowledges none of them.
    const window = Math.floor(WINDOW_SAMPLES / frame) * frame;
    await until('the window to arrive', () => heard.received >= window);
    await new Promise((resolve) => setTimeout(resolve, 200)); // a round trip more: nothing beyond the window follows
    expect(heard.received).toBe(window);
    expect(stream.inFlightSamples).toBe(window);
    expect(stream.queuedSamples).toBe(audio.length - window);
    // 5 s may wait (maxQueuedMs): 4 s more overflow the queue and fail the stream (the fallback may replay the turn).
    stream.push(new Float32Array(4 * 16000));
    expect(stream.queuedSamples).toBe(0);
    const error = await stream.finish().then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ reason: 'timeout', retryable: true });
    expect((error as Error).message).toMatch(/behind/);
  });
});

describe('a stuck STT worker', () => {
  it('ends the turn with stt_unavailable within the finish timeout; the device goes back to idle', async () => {
    const states: string[] = [];
    const recorder = new FakeRecorder();
    const hub = createSessionHub({
      stt: provider,
      tts: new FakeTts(),
      responder: new FakeResponder(),
      recorder,
      limits: TEST_LIMITS,
      logger: quietLogger(),
      events: { stateChanged: (e) => states.push(e.state) },
    });
    const link = new FakeLink('dev-wedged');
    const device = new Device(link, hub.openSession(link));
    await device.hello();
    device.listen('start', { turn: 1 });
    await device.stream(pcmPackets(speechSamples(1)));
    device.listen('stop', { turn: 1 });
    const [record] = await recorder.waitForTurns(1);
    expect(heard.wedged).toBe(true);
    expect(record).toMatchObject({ outcome: 'error', errorCode: 'stt_unavailable' });
    expect(device.messages('error')).toEqual([expect.objectContaining({ code: 'stt_unavailable', turn: 1 })]);
    expect(device.messages('stt')).toEqual([expect.objectContaining({ text: '', final: true, turn: 1 })]);
    expect(states.slice(-2)).toEqual(['thinking', 'idle']);
    await hub.closeAll();
  });
});
