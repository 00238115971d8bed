/**
 * Stopping a speech worker thread that is busy inside sherpa-onnx native calls. A plain
 * Worker.terminate() there aborts the whole process ("terminate called after throwing an
 * instance of 'Napi::Error'"), so this file's process would die and vitest would report
 * "Worker exited unexpectedly"; stop() must end the worker and leave the process running.
 */
import { describe, expect, it } from 'vitest';
import type { SttWorkerData, SttWorkerEvent, SttWorkerRequest } from '../../gateway/speech/sherpa/stt-protocol.ts';
import { recognizerConfig, resolveSttModel } from '../../gateway/speech/sherpa/stt-model.ts';
import { SherpaSttSchema } from '../../gateway/speech/speech-config.ts';
import { SpeechWorker } from '../../gateway/speech/workers/speech-worker.ts';
import { fixtureModels } from '../fixtures/speech-fixtures.ts';
import { speechClip } from './helpers/audio.ts';

const STT_WORKER = new URL('../../gateway/speech/sherpa/stt-worker.ts', import.meta.url);
/** Enough rounds that stops land mid-call many times (12 rounds with terminate() killed 4 runs in 5). */
const ROUNDS = 20;
/** Streams decoding at once, so the worker is busy in native code when the stop arrives. */
const STREAMS = 4;

function sttWorkerData(): SttWorkerData {
  const settings = SherpaSttSchema.parse({ model: fixtureModels().asr });
  return { recognizer: recognizerConfig(resolveSttModel(settings, '/none'), settings), batch: true, tailPaddingSamples: 0 };
}

describe('SpeechWorker.stop', () => {
  it('ends a worker that is busy decoding, round after round, and the process lives on', async () => {
    const data = sttWorkerData();
    const clip = speechClip(2);
    for (let round = 0; round < ROUNDS; round++) {
      const worker = await SpeechWorker.start<SttWorkerRequest, SttWorkerEvent>(STT_WORKER, data, `stop-test-${round}`);
      const exited = new Promise<Error>((resolve) => worker.onExit(resolve));
      for (let id = 1; id <= STREAMS; id++) {
        worker.post({ type: 'open', id });
        for (let i = 0; i < clip.length; i += 320) {
          const chunk = clip.slice(i, i + 320);
          worker.post({ type: 'audio', id, samples: chunk }, [chunk.buffer]);
        }
      }
      // Stop it while it works through that audio: at once, or a few milliseconds in.
      await new Promise((resolve) => setTimeout(resolve, round % 4));
      await worker.stop();
      expect(worker.alive).toBe(false);
      expect((await exited).message).toBe('worker stopped');
      worker.post({ type: 'finish', id: 1 }); // after the stop: dropped, not thrown
    }
  }, 120_000);

  it('stop() is idempotent and a stopped worker takes no more messages', async () => {
    const worker = await SpeechWorker.start<SttWorkerRequest, SttWorkerEvent>(STT_WORKER, sttWorkerData(), 'stop-twice');
    const events: SttWorkerEvent[] = [];
    worker.onMessage((event) => events.push(event));
    const first = worker.stop();
    worker.post({ type: 'open', id: 1 });
    worker.post({ type: 'finish', id: 1 });
    await Promise.all([first, worker.stop()]);
    expect(worker.alive).toBe(false);
    expect(events).toEqual([]);
  });
});
