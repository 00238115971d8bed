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

export class ModelProbeError extends Error {
  override name = 'ModelProbeError';
}

/** Resolves when the model loads and runs; rejects with sherpa's own complaint otherwise. */
export function probeModel(target: ProbeTarget, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['-e', PROBE_SOURCE, sherpaModulePath(), JSON.stringify(target)],
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
