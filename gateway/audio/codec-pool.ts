/**
 * The codec worker pool: the gateway's resampling, encoding and decoding off the event loop
 * (BRIEF: the event loop carries protocol and bookkeeping only). The session opens one reply
 * stream per reply and gets device-ready packets back; the HTTP API decodes uploads and
 * resamples synthesized audio here; `auto` turns whose recognizer cannot end them get their
 * end-of-turn detector here, and realtime listening its speech-start detector. Each reply stream and detector is pinned to the least busy
 * worker (its codec state lives there); one-off jobs go to the least busy worker too.
 *
 * Audio handed to the pool is transferred when the array owns its whole buffer (the caller
 * must not use it afterwards) and copied otherwise. A worker that dies fails the jobs it
 * had, and is replaced; a reply stream whose worker died goes on with a fresh encoder.
 */
import type { GatewayAudioParams } from '../../protocol/index.ts';
import type { Logger } from '../logger.ts';
import type { ProviderHealth } from '../providers.ts';
import type { SynthesizedAudio, TurnEndDetectorFactory } from '../speech/types.ts';
import type { VadSettings } from '../speech/vad/silero-config.ts';
import { SpeechWorker, siblingModuleUrl } from '../speech/workers/speech-worker.ts';
import type { CodecWorkerEvent, CodecWorkerRequest, CodecWorkerStats, VadKind } from './codec-protocol.ts';
import { CLIP_HEAD_MS, type EncodedClip, type ReplyCodec, type ReplyStreamEncoder } from './reply-codec.ts';
import { AudioDecodeError, type AudioConverter, type DecodedAudio, type DecodeOptions } from './upload-decode.ts';

/** A worker that died is replaced after this pause (a crash loop must not spin the CPU). */
export const CODEC_WORKER_RESPAWN_DELAY_MS = 1_000;

const WORKER_MODULE = siblingModuleUrl(import.meta.url, 'codec-worker');

export interface CodecPoolOptions {
  workers: number;
  /** The engines' and devices' rates: their resampler converters are kept in every worker. */
  cachedRates: readonly number[];
  /** Silero settings, for the detectors on the workers (`turnEndDetectors()`). */
  vad?: VadSettings;
  opusBitrate?: number;
  /**
   * Replies to encode once in every worker as it starts (a voice's rate → a device's params),
   * so that the first real reply does not pay for building converters and compiling code (a cold
   * worker took ~65 ms over the first sentence's head, a warm one ~10 ms).
   */
  warmup?: ReadonlyArray<{ fromRate: number; params: GatewayAudioParams }>;
  logger: Logger;
}

type Worker = SpeechWorker<CodecWorkerRequest, CodecWorkerEvent>;

interface Slot {
  index: number;
  worker?: Worker;
  /** Open reply streams, detectors and pending jobs: how busy it is. */
  load: number;
}

interface Pending {
  slot: Slot;
  resolve: (event: CodecWorkerEvent) => void;
  reject: (error: Error) => void;
  /** A job answered in parts (reply packets) stays pending until its last part. */
  part?: (event: Extract<CodecWorkerEvent, { type: 'packets' }>) => void;
}

export type CodecJobKind = 'encode' | 'decode' | 'resample' | 'detect' | 'stats';

/** Packets laid back to back → one view per packet. */
function unpack(data: Uint8Array, sizes: Uint32Array): Uint8Array[] {
  const packets: Uint8Array[] = [];
  let at = 0;
  for (const size of sizes) {
    packets.push(data.subarray(at, at + size));
    at += size;
  }
  return packets;
}

/** The array itself when it owns its whole buffer (then it is transferred), else a copy. */
function transferable<T extends Float32Array | Uint8Array>(array: T): T {
  const whole = array.byteOffset === 0 && array.byteLength === array.buffer.byteLength && array.buffer instanceof ArrayBuffer;
  return whole ? array : (array.slice() as T);
}

export class CodecPool implements ReplyCodec {
  private readonly slots: Slot[];
  private readonly pending = new Map<number, Pending>();
  private readonly detectors = new Map<number, { kind: VadKind; heard: () => void }>();
  private nextId = 1;
  private closed = false;
  /** Jobs handed to the workers, by kind (tests and health: where the work went). */
  readonly jobs: Record<CodecJobKind, number> = { encode: 0, decode: 0, resample: 0, detect: 0, stats: 0 };

  private constructor(private readonly options: CodecPoolOptions) {
    this.slots = Array.from({ length: options.workers }, (_, index) => ({ index, load: 0 }));
  }

  /** Starts the workers; rejects when none could start. */
  static async start(options: CodecPoolOptions): Promise<CodecPool> {
    const pool = new CodecPool(options);
    const started = await Promise.allSettled(pool.slots.map((slot) => pool.spawn(slot)));
    const failed = started.find((r) => r.status === 'rejected');
    if (pool.slots.every((slot) => !slot.worker)) {
      throw new Error(`codec workers failed to start: ${(failed as PromiseRejectedResult | undefined)?.reason?.message ?? 'unknown'}`);
    }
    return pool;
  }

  private async spawn(slot: Slot): Promise<void> {
    const worker = await SpeechWorker.start<CodecWorkerRequest, CodecWorkerEvent>(
      WORKER_MODULE,
      { cachedRates: [...this.options.cachedRates], vad: this.options.vad },
      `voxgate-codec-${slot.index}`,
    );
    if (this.closed) return void (await worker.stop());
    worker.onMessage((event) => this.onEvent(event));
    worker.onExit((error) => this.onWorkerExit(slot, worker, error));
    await this.warm(slot, worker);
    slot.worker = worker;
  }

  /** Encodes the warm-up replies on a worker that is not in service yet. */
  private async warm(slot: Slot, worker: Worker): Promise<void> {
    const exited = new Promise<void>((resolve) => worker.onExit(() => resolve()));
    for (const { fromRate, params } of this.options.warmup ?? []) {
      if (!worker.alive) return;
      const stream = this.nextId++;
      const job = this.nextId++;
      const done = new Promise<void>((resolve) => {
        this.pending.set(job, { slot, resolve: () => resolve(), reject: () => resolve(), part: (event) => event.last && resolve() });
      });
      slot.load++;
      worker.post({ type: 'reply-open', stream, params, bitrate: this.options.opusBitrate });
      const samples = new Float32Array(Math.round(fromRate * 0.5));
      worker.post({ type: 'reply-encode', job, stream, samples, sampleRate: fromRate, headFrames: 1 }, [samples.buffer]);
      await Promise.race([done, exited]);
      worker.post({ type: 'reply-close', stream });
    }
  }

  private onEvent(event: CodecWorkerEvent): void {
    if (event.type === 'vad-heard' || event.type === 'vad-error') {
      const detector = this.detectors.get(event.detector);
      if (!detector) return; // released meanwhile
      if (event.type === 'vad-heard') return detector.heard();
      this.detectors.delete(event.detector);
      const consequence = detector.kind === 'turn-end' ? 'the turn ends at listen stop' : 'realtime listening hears nothing';
      this.options.logger.error({ err: event.message }, `${detector.kind} detector failed; ${consequence}`);
      return;
    }
    const job = this.pending.get(event.job);
    if (!job) return;
    if (event.type === 'packets' && job.part) {
      if (event.last) {
        this.pending.delete(event.job);
        job.slot.load--;
      }
      return job.part(event);
    }
    this.pending.delete(event.job);
    job.slot.load--;
    if (event.type === 'error') {
      job.reject(event.code ? new AudioDecodeError(event.code, event.message) : new Error(`codec worker: ${event.message}`));
    } else job.resolve(event);
  }

  private onWorkerExit(slot: Slot, worker: Worker, error: Error): void {
    if (slot.worker !== worker) return;
    slot.worker = undefined;
    slot.load = 0;
    for (const [id, job] of [...this.pending]) {
      if (job.slot !== slot) continue;
      this.pending.delete(id);
      job.reject(new Error(`codec worker died: ${error.message}`));
    }
    if (this.closed) return;
    this.options.logger.error({ err: error.message, worker: slot.index }, 'codec worker died');
    setTimeout(() => {
      if (this.closed) return;
      this.spawn(slot).catch((err) => this.options.logger.error({ err: (err as Error).message }, 'codec worker respawn failed'));
    }, CODEC_WORKER_RESPAWN_DELAY_MS).unref();
  }

  /** The least busy running worker. */
  private pick(): Slot {
    let best: Slot | undefined;
    for (const slot of this.slots) if (slot.worker?.alive && (!best || slot.load < best.load)) best = slot;
    if (!best) throw new Error(this.closed ? 'the codec pool is closed' : 'no codec worker is running (restarting)');
    return best;
  }

  private run<E extends CodecWorkerEvent>(kind: CodecJobKind, slot: Slot, build: (job: number) => { message: CodecWorkerRequest; transfer: ArrayBuffer[] }): { job: number; result: Promise<E> } {
    const job = this.nextId++;
    const { message, transfer } = build(job);
    const result = new Promise<E>((resolve, reject) => {
      this.pending.set(job, { slot, resolve: resolve as (e: CodecWorkerEvent) => void, reject });
    });
    slot.load++;
    this.jobs[kind]++;
    slot.worker!.post(message, transfer);
    return { job, result };
  }

  openReply(params: GatewayAudioParams): ReplyStreamEncoder {
    const pool = this;
    const stream = this.nextId++;
    let slot: Slot | undefined;
    let worker: Worker | undefined;
    let closed = false;
    const open = (): Slot => {
      if (slot && worker?.alive && slot.worker === worker) return slot;
      slot = pool.pick();
      worker = slot.worker!;
      slot.load++;
      worker.post({ type: 'reply-open', stream, params, bitrate: pool.options.opusBitrate });
      return slot;
    };
    open(); // pinned now: a speculative reply opened early finds its worker ready
    return {
      params,
      encode(audio: SynthesizedAudio): Promise<EncodedClip> {
        if (closed) return Promise.reject(new Error('reply stream is closed'));
        const samples = transferable(audio.samples);
        const headFrames = Math.ceil(CLIP_HEAD_MS / params.frame_duration);
        return new Promise<EncodedClip>((resolveHead, rejectHead) => {
          let resolveRest!: (packets: Uint8Array[]) => void;
          let rejectRest!: (error: Error) => void;
          const rest = new Promise<Uint8Array[]>((resolve, reject) => {
            resolveRest = resolve;
            rejectRest = reject;
          });
          rest.catch(() => {}); // awaited by the reply unless it was aborted meanwhile
          let headSent = false;
          const { job } = pool.run('encode', open(), (id) => ({
            message: { type: 'reply-encode', job: id, stream, samples, sampleRate: audio.sampleRate, headFrames },
            transfer: [samples.buffer as ArrayBuffer],
          }));
          const pending = pool.pending.get(job)!;
          pending.reject = (error) => (headSent ? rejectRest(error) : rejectHead(error));
          pending.part = (event) => {
            const packets = unpack(event.data, event.sizes);
            if (headSent) return resolveRest(packets);
            headSent = true;
            resolveHead({ head: packets, rest });
            if (event.last) resolveRest([]);
          };
        });
      },
      close() {
        if (closed) return;
        closed = true;
        if (slot && worker?.alive && slot.worker === worker) {
          slot.load--;
          worker.post({ type: 'reply-close', stream });
        }
      },
    };
  }

  /** Decodes an upload to 16 kHz mono on a worker (WAV itself, anything else with `converter`). Rejects with AudioDecodeError. */
  async decodeUpload(data: Uint8Array, converter: AudioConverter | undefined, options: DecodeOptions): Promise<DecodedAudio> {
    if (options.signal?.aborted) throw new AudioDecodeError('bad_request', 'the request was cancelled');
    const slot = this.pick();
    const bytes = transferable(data);
    const { job, result } = this.run<Extract<CodecWorkerEvent, { type: 'decoded' }>>('decode', slot, (id) => ({
      message: { type: 'decode-upload', job: id, data: bytes, converter, filename: options.filename, mimeType: options.mimeType, maxSeconds: options.maxSeconds, timeoutMs: options.timeoutMs },
      transfer: [bytes.buffer as ArrayBuffer],
    }));
    const onAbort = () => slot.worker?.post({ type: 'cancel', job });
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const decoded = await result;
      return { samples: decoded.samples, durationSeconds: decoded.durationSeconds, decoder: decoded.decoder };
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Converts one clip on a worker. */
  async resample(samples: Float32Array, fromRate: number, toRate: number): Promise<Float32Array> {
    const owned = transferable(samples);
    const { result } = this.run<Extract<CodecWorkerEvent, { type: 'resampled' }>>('resample', this.pick(), (job) => ({
      message: { type: 'resample', job, samples: owned, fromRate, toRate },
      transfer: [owned.buffer as ArrayBuffer],
    }));
    return (await result).samples;
  }

  /** What each running worker holds (converters, streams, memory). */
  async workerStats(): Promise<CodecWorkerStats[]> {
    const live = this.slots.filter((slot) => slot.worker?.alive);
    const answers = live.map((slot) => this.run<Extract<CodecWorkerEvent, { type: 'stats' }>>('stats', slot, (job) => ({ message: { type: 'stats', job }, transfer: [] })).result);
    return (await Promise.all(answers)).map((answer) => answer.stats);
  }

  /**
   * Silero detectors running on the workers: the end of an `auto` turn, and the start of speech
   * for realtime listening. Undefined without Silero settings.
   */
  turnEndDetectors(): TurnEndDetectorFactory | undefined {
    if (!this.options.vad) return undefined;
    return {
      create: () => {
        const vad = this.openVad('turn-end');
        return { accept: (samples) => vad.accept(samples), onEnded: (listener) => vad.onHeard(listener), release: () => vad.release() };
      },
      createSpeechStart: () => {
        const vad = this.openVad('speech-start');
        return {
          // The worker decides; onSpeech hears it.
          accept: (samples) => (vad.accept(samples), false),
          onSpeech: (listener) => vad.onHeard(listener),
          reset: () => vad.reset(),
          release: () => vad.release(),
        };
      },
    };
  }

  /** One detector on a worker; if that worker dies, the next audio opens it afresh on another. */
  private openVad(kind: VadKind) {
    let slot!: Slot;
    let worker!: Worker;
    let id = 0;
    let heard = false;
    let released = false;
    let listener: (() => void) | undefined;
    const onHeard = () => {
      heard = true;
      listener?.();
    };
    const open = () => {
      slot = this.pick();
      worker = slot.worker!;
      id = this.nextId++;
      slot.load++;
      this.detectors.set(id, { kind, heard: onHeard });
      worker.post({ type: 'vad-open', detector: id, kind });
    };
    const live = () => worker.alive && slot.worker === worker;
    const close = () => {
      this.detectors.delete(id);
      if (live()) {
        slot.load--;
        worker.post({ type: 'vad-close', detector: id });
      }
    };
    open();
    return {
      accept: (samples: Float32Array): boolean => {
        if (heard || released) return heard;
        if (!live()) {
          this.detectors.delete(id);
          try {
            open();
          } catch {
            return false; // no worker running now: the audio is not heard
          }
        }
        const copy = samples.slice();
        this.jobs.detect++;
        worker.post({ type: 'vad-audio', detector: id, samples: copy }, [copy.buffer]);
        return false;
      },
      onHeard: (l: () => void) => {
        listener = l;
      },
      /** Speech-start detectors only: listen for the next start of speech. */
      reset: () => {
        heard = false;
        if (!released && live()) worker.post({ type: 'vad-reset', detector: id });
      },
      release: () => {
        if (released) return;
        released = true;
        close();
      },
    };
  }

  health(): ProviderHealth {
    const live = this.slots.filter((slot) => slot.worker?.alive).length;
    return { name: 'codec', ready: live > 0, detail: `${live}/${this.slots.length} workers, ${this.pending.size} jobs pending` };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const [id, job] of [...this.pending]) {
      this.pending.delete(id);
      job.reject(new Error('the codec pool is closed'));
    }
    await Promise.all(this.slots.map((slot) => slot.worker?.stop()));
  }
}
