/**
 * Loads a model once in a throwaway child process before any worker thread does.
 *
 * Why a process: sherpa-onnx aborts the whole process (C++ `terminate`, SIGABRT) when an
 * ONNX file is corrupt; inside a worker thread that would take the gateway down. A probe
 * that dies tells us the model is broken, and the gateway carries on without it.
 */
import { execFile } from 'node:child_process';
import type { OfflineTtsConfig, OnlineRecognizerConfig, VadConfig } from './native.ts';
import { sherpaModulePath } from './native.ts';

export type ProbeTarget =
  | { kind: 'online-asr'; config: OnlineRecognizerConfig }
  | { kind: 'tts'; config: OfflineTtsConfig }
  | { kind: 'vad'; config: VadConfig };

/** How much of the probe's stderr to quote in the error (sherpa prints its reason last). */
const STDERR_QUOTE_CHARS = 600;

// Runs in the child (plain CommonJS through `node -e`): load, then run the model once on
// low noise so that a graph that loads but cannot run also fails here.
const PROBE_SOURCE = `
const sherpa = require(process.argv[1]);
const target = JSON.parse(process.argv[2]);
const noise = new Float32Array(16000);
for (let i = 0; i < noise.length; i++) noise[i] = (Math.random() - 0.5) * 0.01;
if (target.kind === 'online-asr') {
  const r = new sherpa.OnlineRecognizer(target.config);
  const s = r.createStream();
  s.acceptWaveform({ samples: noise, sampleRate: 16000 });
  s.inputFinished();
  while (r.isReady(s)) r.decode(s);
  r.getResult(s);
} else if (target.kind === 'tts') {
  const t = new sherpa.OfflineTts(target.config);
  const a = t.generate({ text: 'ok.', sid: 0, speed: 1 });
  if (!(a.samples.length > 0)) throw new Error('the voice generated no audio');
} else {
  const v = new sherpa.Vad(target.config, 5);
  v.acceptWaveform(noise);
}
process.stdout.write('ok');
`;

// Two streams of different lengths decoded together, as a worker batches concurrent turns
// (decodeStreams). A model whose state tensors cannot be stacked aborts onnxruntime here.
const BATCH_PROBE_SOURCE = `
const sherpa = require(process.argv[1]);
const r = new sherpa.OnlineRecognizer(JSON.parse(process.argv[2]));
const streams = [16000, 40000].map((n) => {
  const s = r.createStream();
  const noise = new Float32Array(n);
  for (let i = 0; i < n; i++) noise[i] = (Math.random() - 0.5) * 0.01;
  s.acceptWaveform({ samples: noise, sampleRate: 16000 });
  s.inputFinished();
  return s;
});
for (;;) {
  const ready = streams.filter((s) => r.isReady(s));
  if (ready.length === 0) break;
  r.decodeStreams(ready);
}
process.stdout.write('ok');
`;

export class ModelProbeError extends Error {
  override name = 'ModelProbeError';
}

function runProbe(source: string, argument: unknown, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['-e', source, sherpaModulePath(), JSON.stringify(argument)],
      { timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (!error && stdout === 'ok') return resolve();
        const why = error?.killed
          ? `did not load within ${timeoutMs} ms`
          : error?.signal
            ? `crashed the loader (${error.signal})`
            : `failed to load`;
        const detail = stderr.trim().split('\n').filter(Boolean).slice(-3).join(' | ').slice(-STDERR_QUOTE_CHARS);
        reject(new ModelProbeError(detail ? `${why}: ${detail}` : why));
      },
    );
  });
}

/** Resolves when the model loads and runs; rejects with sherpa's own complaint otherwise. */
export function probeModel(target: ProbeTarget, timeoutMs: number): Promise<void> {
  return runProbe(PROBE_SOURCE, target, timeoutMs);
}

/**
 * Whether a streaming recognizer (that probeModel accepted) can decode several streams in
 * one call. When it cannot, its workers must decode one stream at a time: a batched call
 * would abort the gateway's process, not just fail.
 */
export function probeBatchedDecode(config: OnlineRecognizerConfig, timeoutMs: number): Promise<boolean> {
  return runProbe(BATCH_PROBE_SOURCE, config, timeoutMs).then(
    () => true,
    () => false,
  );
}
