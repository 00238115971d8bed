/**
 * A decoding worker: one sherpa-onnx OnlineRecognizer, many pinned streams. Audio is
 * accepted as it arrives; decoding runs in a drain loop that batches every ready stream
 * into one `decodeStreams` call, so several turns on one worker share each native call
 * (one `decode` per stream instead when the provider's probe found the model cannot batch).
 * After each drain, audio the provider asked about is acknowledged (its backpressure).
 *
 * Each stream's Silero instance (when installed) gates the recognizer and, in `auto` mode,
 * also ends the turn: one Silero per turn, none on the event loop.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SpeechGate } from '../vad/speech-gate.ts';
import { loadSherpa, type OnlineRecognizer, type OnlineStream, type Vad } from './native.ts';
import type { SttWorkerData, SttWorkerEvent, SttWorkerRequest } from './stt-protocol.ts';
import { STT_SAMPLE_RATE } from '../types.ts';
import { SILERO_WINDOW_SAMPLES, VAD_BUFFER_SECONDS } from '../vad/silero-config.ts';
import { collectNativeGarbageEvery } from '../workers/native-garbage.ts';

interface StreamState {
  stream: OnlineStream;
  gate?: SpeechGate;
  vad?: Vad;
  endsTurn: boolean;
  turnEndSent: boolean;
  /** The latest `ack` asked for, not yet answered. */
  ack?: number;
  lastText: string;
  finishing: boolean;
  decodedSamples: number;
  receivedSamples: number;
}

const port = parentPort!;
const data = workerData as SttWorkerData;
const streams = new Map<number, StreamState>();
/** Silero instances are slow to create (~40 ms): reuse them across turns; those idle a minute go (one stays). */
const idleVads: Array<{ vad: Vad; since: number }> = [];
const VAD_IDLE_MS = 60_000;
/** Turns between full collections of this worker's heap. */
const NATIVE_GC_EVERY_STREAMS = 16;
let recognizer: OnlineRecognizer;
/** A finished stream's decoder state is freed at garbage collection (native-garbage.ts). */
const streamDropped = collectNativeGarbageEvery(NATIVE_GC_EVERY_STREAMS);
let drainScheduled = false;
let stopped = false;

function post(event: SttWorkerEvent): void {
  port.postMessage(event);
}

function feed(state: StreamState, samples: Float32Array): void {
  if (samples.length === 0) return;
  state.stream.acceptWaveform({ samples, sampleRate: STT_SAMPLE_RATE });
  state.decodedSamples += samples.length;
}

function release(id: number, state: StreamState): void {
  streams.delete(id);
  streamDropped();
  if (state.vad) {
    state.vad.reset();
    idleVads.push({ vad: state.vad, since: performance.now() });
  }
}

/** Drops Silero instances idle for a minute (the oldest sit at the bottom), keeping one ready. */
function trimIdleVads(): void {
  const cutoff = performance.now() - VAD_IDLE_MS;
  let drop = 0;
  while (drop < idleVads.length - 1 && idleVads[drop]!.since <= cutoff) drop++;
  if (drop > 0) idleVads.splice(0, drop);
}

function scheduleDrain(): void {
  if (drainScheduled) return;
  drainScheduled = true;
  setImmediate(drain);
}

/** Decodes until no stream is ready, then reports partials and finals. */
function drain(): void {
  drainScheduled = false;
  if (stopped) return;
  const touched = new Set<number>();
  try {
    for (;;) {
      const ready: OnlineStream[] = [];
      for (const [id, state] of streams) {
        if (recognizer.isReady(state.stream)) {
          ready.push(state.stream);
          touched.add(id);
        }
      }
      if (ready.length === 0) break;
      if (ready.length > 1 && data.batch) recognizer.decodeStreams(ready);
      else for (const stream of ready) recognizer.decode(stream);
    }
  } catch (err) {
    for (const id of touched) fail(id, err);
    return;
  }
  for (const [id, state] of streams) {
    if (state.ack !== undefined && !state.finishing) {
      post({ type: 'ack', id, samples: state.ack });
      state.ack = undefined;
    }
    if (!touched.has(id) && !state.finishing) continue;
    const text = recognizer.getResult(state.stream).text.trim();
    if (state.finishing) {
      post({
        type: 'final',
        id,
        text,
        stats: { receivedSamples: state.receivedSamples, decodedSamples: state.decodedSamples },
      });
      release(id, state);
    } else if (text !== state.lastText) {
      state.lastText = text;
      post({ type: 'partial', id, text });
    }
  }
}

function fail(id: number, err: unknown): void {
  const state = streams.get(id);
  if (state) release(id, state);
  post({ type: 'error', id, message: err instanceof Error ? err.message : String(err) });
}

function open(id: number, language: string | undefined, endsTurn: boolean): void {
  const stream = recognizer.createStream();
  // Multilingual streaming models read this per stream; others ignore it.
  if (language) stream.setOption('language', language);
  const state: StreamState = { stream, endsTurn, turnEndSent: false, lastText: '', finishing: false, decodedSamples: 0, receivedSamples: 0 };
  const gating = data.gatePrerollSamples !== undefined;
  if (data.vad && (gating || endsTurn)) {
    state.vad = idleVads.pop()?.vad ?? new (loadSherpa().Vad)(data.vad, VAD_BUFFER_SECONDS);
    state.gate = new SpeechGate(state.vad, data.gatePrerollSamples ?? 0, gating);
  }
  streams.set(id, state);
}

/** Asked by the provider (never Worker.terminate(), see speech-worker.ts): drop every stream; closing the port ends the thread. */
function stop(): void {
  stopped = true;
  streams.clear();
  idleVads.length = 0;
  port.close();
}

function handle(message: Exclude<SttWorkerRequest, { type: 'stop' }>): void {
  const state = streams.get(message.id);
  switch (message.type) {
    case 'open':
      open(message.id, message.language, message.endsTurn === true);
      return;
    case 'audio':
      if (!state || state.finishing) return;
      state.receivedSamples += message.samples.length;
      if (message.ack !== undefined) state.ack = message.ack;
      if (state.gate) {
        // The gate decides per piece it is offered; the provider may coalesce a backlog into one message.
        for (let at = 0; at < message.samples.length; at += SILERO_WINDOW_SAMPLES) {
          for (const piece of state.gate.accept(message.samples.subarray(at, at + SILERO_WINDOW_SAMPLES))) feed(state, piece);
        }
        if (state.endsTurn && state.gate.endOfSpeech && !state.turnEndSent) {
          state.turnEndSent = true;
          post({ type: 'turn-end', id: message.id });
        }
      } else feed(state, message.samples);
      scheduleDrain();
      return;
    case 'finish':
      if (!state || state.finishing) return;
      if (state.gate) for (const piece of state.gate.flush()) feed(state, piece);
      feed(state, new Float32Array(data.tailPaddingSamples));
      state.stream.inputFinished();
      state.finishing = true;
      scheduleDrain();
      return;
    case 'abort':
      if (state) release(message.id, state);
      return;
  }
}

try {
  recognizer = new (loadSherpa().OnlineRecognizer)(data.recognizer);
  if (data.vad) idleVads.push({ vad: new (loadSherpa().Vad)(data.vad, VAD_BUFFER_SECONDS), since: performance.now() });
  setInterval(trimIdleVads, VAD_IDLE_MS).unref();
  port.on('message', (message: SttWorkerRequest) => {
    if (message.type === 'stop') return stop();
    try {
      handle(message);
    } catch (err) {
      fail(message.id, err);
    }
  });
  port.postMessage({ type: 'ready' });
} catch (err) {
  port.postMessage({ type: 'init-error', message: err instanceof Error ? err.message : String(err) });
}
