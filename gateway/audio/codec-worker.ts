/**
 * A codec worker: the audio work the event loop must not do. Reply clips are resampled to the
 * device rate, cut into frames and encoded (each reply stream keeps its own encoder here, so
 * Opus state runs on across sentences); uploads are decoded (WAV, or ffmpeg/sox forked from
 * this thread) and resampled to 16 kHz; Silero detectors hear the end of turns (for
 * recognizers that cannot end them themselves) and the start of speech (realtime listening).
 * Requests of one kind are answered in the order they came.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { getResampler, keepConvertersFor, resamplerStats } from '../../audio/resampler.ts';
import type { SpeechStartDetector, TurnEndDetector } from '../speech/types.ts';
import { SileroTurnEndDetectorFactory } from '../speech/vad/turn-end.ts';
import { collectNativeGarbageEvery } from '../speech/workers/native-garbage.ts';
import type { CodecWorkerData, CodecWorkerEvent, CodecWorkerRequest } from './codec-protocol.ts';
import { createReplyEncoder, type ReplyEncoder } from './reply-encoder.ts';
import { AudioDecodeError, decodeUpload } from './upload-decode.ts';

const port = parentPort!;
const data = workerData as CodecWorkerData;
/** Each reply stream's encoder, and its last clip's job: clips are encoded strictly one after another. */
const replies = new Map<number, { encoder: ReplyEncoder; tail: Promise<void> }>();
const uploads = new Map<number, AbortController>();
/** Open detectors; `heard` stops a speech-start detector from reporting again before its reset. */
const detectors = new Map<number, { kind: 'turn-end'; detector: TurnEndDetector; heard: boolean } | { kind: 'speech-start'; detector: SpeechStartDetector; heard: boolean }>();
let detectorFactory: SileroTurnEndDetectorFactory | undefined;
/** Reply streams between full collections of this worker's heap (native-garbage.ts). */
const encoderDropped = collectNativeGarbageEvery(16);

function post(event: CodecWorkerEvent, transfer?: ArrayBuffer[]): void {
  port.postMessage(event, transfer);
}

function fail(job: number, err: unknown): void {
  const code = err instanceof AudioDecodeError ? err.code : undefined;
  post({ type: 'error', job, message: err instanceof Error ? err.message : String(err), code });
}

/** One clip's packets in one transferable buffer: a message per packet would cost the event loop more than the encoding saves. */
function packPackets(packets: Uint8Array[]): { data: Uint8Array; sizes: Uint32Array } {
  const sizes = new Uint32Array(packets.length);
  let total = 0;
  packets.forEach((p, i) => {
    sizes[i] = p.length;
    total += p.length;
  });
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of packets) {
    out.set(p, at);
    at += p.length;
  }
  return { data: out, sizes };
}

function encodeReply(message: Extract<CodecWorkerRequest, { type: 'reply-encode' }>): void {
  const reply = replies.get(message.stream);
  if (!reply) return fail(message.job, new Error('reply stream is closed'));
  // A clip at an uncached rate waits for its converter: the next clip must not overtake it.
  reply.tail = reply.tail.then(() => encodeClip(reply.encoder, message));
}

/** The rest of a clip is encoded this many frames at a time, with other requests (another reply's head) handled in between. */
const REST_SLICE_FRAMES = 8;

/**
 * Resamples and encodes the clip's head first and sends it, then the rest: resampled, then
 * encoded in slices, so that a long sentence of one reply does not hold up the first packets
 * of another. A clip shorter than its head comes in one message.
 */
async function encodeClip(encoder: ReplyEncoder, message: Extract<CodecWorkerRequest, { type: 'reply-encode' }>): Promise<void> {
  try {
    const frames = await encoder.toFramesHeadFirst({ samples: message.samples, sampleRate: message.sampleRate }, Math.max(1, message.headFrames));
    const send = (packets: Uint8Array[], last: boolean) => {
      const packed = packPackets(packets);
      post({ type: 'packets', job: message.job, ...packed, last }, [packed.data.buffer as ArrayBuffer, packed.sizes.buffer as ArrayBuffer]);
    };
    const head = frames.head.map((frame) => encoder.encode(frame));
    if (head.length > 0) send(head, false);
    await new Promise((resolve) => setImmediate(resolve));
    const restFrames = frames.rest();
    const rest: Uint8Array[] = [];
    for (let at = 0; at < restFrames.length; at += REST_SLICE_FRAMES) {
      if (at > 0) await new Promise((resolve) => setImmediate(resolve));
      for (const frame of restFrames.slice(at, at + REST_SLICE_FRAMES)) rest.push(encoder.encode(frame));
    }
    send(rest, true);
  } catch (err) {
    fail(message.job, err);
  }
}

async function decode(message: Extract<CodecWorkerRequest, { type: 'decode-upload' }>): Promise<void> {
  const abort = new AbortController();
  uploads.set(message.job, abort);
  try {
    const audio = await decodeUpload(message.data, message.converter, {
      filename: message.filename,
      mimeType: message.mimeType,
      maxSeconds: message.maxSeconds,
      timeoutMs: message.timeoutMs,
      signal: abort.signal,
    });
    post({ type: 'decoded', job: message.job, samples: audio.samples, durationSeconds: audio.durationSeconds, decoder: audio.decoder }, [
      audio.samples.buffer as ArrayBuffer,
    ]);
  } catch (err) {
    fail(message.job, err);
  } finally {
    uploads.delete(message.job);
  }
}

async function resample(message: Extract<CodecWorkerRequest, { type: 'resample' }>): Promise<void> {
  try {
    let samples = (await getResampler(message.fromRate, message.toRate)).resample(message.samples);
    // An equal-rate "conversion" hands back the same array, whose buffer was transferred in.
    if (samples.buffer === message.samples.buffer) samples = samples.slice();
    post({ type: 'resampled', job: message.job, samples }, [samples.buffer as ArrayBuffer]);
  } catch (err) {
    fail(message.job, err);
  }
}

function vad(message: Extract<CodecWorkerRequest, { type: 'vad-open' | 'vad-audio' | 'vad-reset' | 'vad-close' }>): void {
  const id = message.detector;
  const open = detectors.get(id);
  try {
    if (message.type === 'vad-open') {
      if (!data.vad) throw new Error('no Silero model was given to the codec workers');
      detectorFactory ??= new SileroTurnEndDetectorFactory(data.vad);
      if (message.kind === 'turn-end') detectors.set(id, { kind: 'turn-end', detector: detectorFactory.create(), heard: false });
      else detectors.set(id, { kind: 'speech-start', detector: detectorFactory.createSpeechStart(), heard: false });
    } else if (message.type === 'vad-audio') {
      if (!open || open.heard || !open.detector.accept(message.samples)) return;
      open.heard = true; // a speech-start detector reports once until reset; a turn-end detector is done
      if (open.kind === 'turn-end') close(id);
      post({ type: 'vad-heard', detector: id });
    } else if (message.type === 'vad-reset') {
      if (open?.kind === 'speech-start') {
        open.detector.reset();
        open.heard = false;
      }
    } else close(id);
  } catch (err) {
    close(id);
    post({ type: 'vad-error', detector: id, message: err instanceof Error ? err.message : String(err) });
  }
}

/** Gives the detector's Silero instance back to the pool. */
function close(id: number): void {
  detectors.get(id)?.detector.release?.();
  detectors.delete(id);
}

/** Asked by the pool (never Worker.terminate(), see speech-worker.ts): stop converters, then closing the port ends the thread. */
function stop(): void {
  for (const abort of uploads.values()) abort.abort();
  for (const id of [...detectors.keys()]) close(id);
  detectorFactory?.close();
  replies.clear();
  port.close();
}

try {
  keepConvertersFor(data.cachedRates);
  port.on('message', (message: CodecWorkerRequest) => {
    switch (message.type) {
      case 'stop':
        return stop();
      case 'reply-open':
        replies.set(message.stream, { encoder: createReplyEncoder(message.params, { opusBitrate: message.bitrate }), tail: Promise.resolve() });
        return;
      case 'reply-encode':
        encodeReply(message);
        return;
      case 'reply-close':
        replies.delete(message.stream);
        encoderDropped(); // libopus frees the encoder at garbage collection
        return;
      case 'decode-upload':
        void decode(message);
        return;
      case 'resample':
        void resample(message);
        return;
      case 'cancel':
        uploads.get(message.job)?.abort();
        return;
      case 'stats': {
        const memory = process.memoryUsage();
        const stats = { converters: resamplerStats().converters, replyStreams: replies.size, detectors: detectors.size, heapUsed: memory.heapUsed, external: memory.external };
        post({ type: 'stats', job: message.job, stats });
        return;
      }
      default:
        vad(message);
    }
  });
  port.postMessage({ type: 'ready' });
} catch (err) {
  port.postMessage({ type: 'init-error', message: err instanceof Error ? err.message : String(err) });
}
