/**
 * Opus encode/decode on opusscript's libopus wasm build, without opusscript's JS wrapper.
 *
 * Why not `new OpusScript()`: opusscript 0.1.1 keeps typed-array views on the wasm heap that
 * (a) are detached as soon as another instance's allocation grows the heap ("Cannot perform
 * %TypedArray%.prototype.set on a detached ArrayBuffer" after a few hundred instances) and
 * (b) address its 16-bit buffers at twice their allocated pointer, i.e. memory it never
 * allocated. Harmless for one encoder, fatal for hundreds of simulated devices in one process.
 * Here every call takes fresh views on the current heap and uses buffers it allocated itself,
 * sized for what the C side really touches.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export type OpusRate = 8000 | 12000 | 16000 | 24000 | 48000;
const OPUS_RATES: readonly number[] = [8000, 12000, 16000, 24000, 48000];
const OPUS_APPLICATION_VOIP = 2048;
const OPUS_SET_BITRATE_REQUEST = 4002;
/** Longest Opus frame (120 ms at 48 kHz), in samples. */
const MAX_FRAME_SAMPLES = 5760;
/** libopus' recommended upper bound for one packet. */
const MAX_PACKET_BYTES = 1276 * 3;
/**
 * The C side reads 16-bit input as one byte per 16-bit slot and, in its repacking loop, looks up
 * to 4 bytes per input byte ahead; the decoder writes one byte per 16-bit slot. Hence 8 bytes per sample.
 */
const PCM_BUFFER_BYTES = MAX_FRAME_SAMPLES * 8;

interface OpusHandler {
  _encode(inputPtr: number, inputBytes: number, outputPtr: number, frameSize: number): number;
  _decode(inputPtr: number, inputBytes: number, outputPtr: number): number;
  _encoder_ctl(ctl: number, arg: number): number;
}
interface OpusWasmModule {
  HEAPU8: Uint8Array;
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  OpusScriptHandler: { new (rate: number, channels: number, application: number): OpusHandler; destroy_handler(h: OpusHandler): void };
}

// One wasm instance per process, loaded on first use: it is the library, like a native addon;
// every codec allocates its own state inside it and frees it on close().
let sharedModule: OpusWasmModule | undefined;
function opusModule(): OpusWasmModule {
  if (!sharedModule) {
    const factory = require('opusscript/build/opusscript_native_wasm.js') as () => OpusWasmModule;
    sharedModule = factory(); // instantiates synchronously (that is how opusscript itself uses it)
  }
  return sharedModule;
}

/** One mono Opus encoder + decoder pair. Not thread-safe; cheap (~180 KB of wasm heap). */
export class OpusCodec {
  readonly sampleRate: OpusRate;
  private readonly mod: OpusWasmModule;
  private handler: OpusHandler | undefined;
  private readonly pcmPtr: number;
  private readonly packetPtr: number;

  constructor(sampleRate: number, options: { bitrate?: number } = {}) {
    if (!OPUS_RATES.includes(sampleRate)) throw new RangeError(`Opus does not support ${sampleRate} Hz`);
    this.sampleRate = sampleRate as OpusRate;
    this.mod = opusModule();
    this.handler = new this.mod.OpusScriptHandler(sampleRate, 1, OPUS_APPLICATION_VOIP);
    this.pcmPtr = this.mod._malloc(PCM_BUFFER_BYTES);
    this.packetPtr = this.mod._malloc(MAX_PACKET_BYTES);
    if (options.bitrate !== undefined) {
      const rc = this.handler._encoder_ctl(OPUS_SET_BITRATE_REQUEST, options.bitrate);
      if (rc < 0) throw new Error(`opus: cannot set bitrate ${options.bitrate} (error ${rc})`);
    }
  }

  /** Encodes one frame (2.5–60 ms of samples) into one packet. */
  encode(pcm: Int16Array): Uint8Array {
    const handler = this.live();
    if (pcm.length === 0 || pcm.length > MAX_FRAME_SAMPLES) throw new RangeError(`opus frame of ${pcm.length} samples`);
    const slots = new Uint16Array(this.mod.HEAPU8.buffer, this.pcmPtr, pcm.length * 2);
    for (let i = 0; i < pcm.length; i++) {
      const v = pcm[i]! & 0xffff;
      slots[2 * i] = v & 0xff;
      slots[2 * i + 1] = v >> 8;
    }
    const length = handler._encode(this.pcmPtr, pcm.length * 2, this.packetPtr, pcm.length);
    if (length < 0) throw new Error(`opus encode failed (error ${length})`);
    return this.mod.HEAPU8.slice(this.packetPtr, this.packetPtr + length);
  }

  /** Decodes one packet; throws on a packet libopus rejects. */
  decode(packet: Uint8Array): Int16Array {
    const handler = this.live();
    if (packet.length === 0 || packet.length > MAX_PACKET_BYTES) throw new RangeError(`opus packet of ${packet.length} bytes`);
    this.mod.HEAPU8.set(packet, this.packetPtr);
    const samples = handler._decode(this.packetPtr, packet.length, this.pcmPtr);
    if (samples < 0) throw new Error(`opus decode failed (error ${samples})`);
    const slots = new Uint16Array(this.mod.HEAPU8.buffer, this.pcmPtr, samples * 2);
    const out = new Int16Array(samples);
    for (let i = 0; i < samples; i++) out[i] = ((slots[2 * i]! | (slots[2 * i + 1]! << 8)) << 16) >> 16;
    return out;
  }

  /** Frees the codec's wasm memory; idempotent. */
  close(): void {
    if (!this.handler) return;
    this.mod.OpusScriptHandler.destroy_handler(this.handler);
    this.mod._free(this.pcmPtr);
    this.mod._free(this.packetPtr);
    this.handler = undefined;
  }

  private live(): OpusHandler {
    if (!this.handler) throw new Error('opus codec is closed');
    return this.handler;
  }
}
