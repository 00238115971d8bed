/** A generation worker: one sherpa-onnx OfflineTts, one sentence at a time. */
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { loadSherpa, type OfflineTts } from './native.ts';
import type { TtsWorkerData, TtsWorkerEvent, TtsWorkerRequest } from './tts-protocol.ts';

const port = parentPort!;
const data = workerData as TtsWorkerData;

function post(event: TtsWorkerEvent, transfer?: ArrayBuffer[]): void {
  port.postMessage(event, transfer);
}

let tts: OfflineTts;
try {
  tts = new (loadSherpa().OfflineTts)(data.tts);
  port.on('message', (request: TtsWorkerRequest) => {
    // Asked by the provider (never Worker.terminate(), see speech-worker.ts): closing the port ends the thread.
    if (request.type === 'stop') return port.close();
    try {
      const started = performance.now();
      // enableExternalBuffer false: the samples must be ours to transfer, not a view on native memory.
      const audio = tts.generate({ text: request.text, sid: request.sid, speed: request.speed, enableExternalBuffer: false });
      const samples = audio.samples instanceof Float32Array ? audio.samples : new Float32Array(audio.samples);
      post(
        { type: 'audio', id: request.id, samples, sampleRate: audio.sampleRate, generateMs: performance.now() - started },
        [samples.buffer as ArrayBuffer],
      );
    } catch (err) {
      post({ type: 'error', id: request.id, message: err instanceof Error ? err.message : String(err) });
    }
  });
  port.postMessage({ type: 'ready', sampleRate: tts.sampleRate, numSpeakers: tts.numSpeakers });
} catch (err) {
  port.postMessage({ type: 'init-error', message: err instanceof Error ? err.message : String(err) });
}
