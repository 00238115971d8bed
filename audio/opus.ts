/**
 * Opus encoding and decoding behind a small interface, backed by the native libopus
 * binding @discordjs/opus: the one Opus library of both the gateway and the device simulator.
 * Chosen by measurement against opusscript (libopus in wasm): 11.4 vs 16.1 ms of CPU per
 * second of audio (encode + decode), ~80 KiB vs ~900 KiB per live encoder+decoder pair,
 * and over 1000 live pairs where opusscript broke after ~39 (a gateway holds one pair per
 * talking device, the simulator one per simulated device). The addon is compiled from
 * source at `npm install`, like better-sqlite3 (node-gyp, make, g++).
 */
import { createRequire } from 'node:module';
import type { OpusEncoder as NativeOpus } from '@discordjs/opus';

const require = createRequire(import.meta.url);
const { OpusEncoder: NativeOpusCodec } = require('@discordjs/opus') as { OpusEncoder: typeof NativeOpus };

export const OPUS_SAMPLE_RATES = [8000, 12000, 16000, 24000, 48000] as const;
export type OpusSampleRate = (typeof OPUS_SAMPLE_RATES)[number];

/** Frame durations libopus can encode (ms). */
export const OPUS_ENCODE_FRAME_MS = [2.5, 5, 10, 20, 40, 60, 80, 100, 120] as const;
/** RFC 6716 §3.2.5: a packet never holds more than 120 ms. */
export const OPUS_MAX_PACKET_MS = 120;
/** Speech at 16/24 kHz sounds clean at 24 kbit/s and keeps reply audio small on MQTT. */
export const DEFAULT_OPUS_BITRATE = 24_000;

// libopus CTLs (opus_defines.h): tell the encoder it is coding speech.
const OPUS_SET_SIGNAL = 4024;
const OPUS_SIGNAL_VOICE = 3001;
/** Discontinuous transmission: during silence the encoder emits tiny packets (stock xiaozhi firmware has it on). */
const OPUS_SET_DTX = 4016;

export function isOpusSampleRate(rate: number): rate is OpusSampleRate {
  return (OPUS_SAMPLE_RATES as readonly number[]).includes(rate);
}

/** A packet that is not valid Opus. */
export class OpusPacketError extends Error {
  override name = 'OpusPacketError';
}

export interface OpusEncoder {
  readonly sampleRate: OpusSampleRate;
  /** Encodes one frame of int16 mono samples (a legal Opus frame length) into one packet. */
  encode(frame: Int16Array): Uint8Array;
  /** Lets go of the native encoder (libopus frees it at garbage collection); later calls throw. Idempotent. */
  close(): void;
}

export interface OpusDecoder {
  readonly sampleRate: OpusSampleRate;
  /** Decodes one packet into int16 mono samples; throws OpusPacketError when it is not valid Opus. */
  decode(packet: Uint8Array): Int16Array;
  /** Lets go of the native decoder (libopus frees it at garbage collection); later calls throw. Idempotent. */
  close(): void;
}

function checkRate(rate: number): OpusSampleRate {
  if (!isOpusSampleRate(rate)) throw new RangeError(`Opus cannot run at ${rate} Hz`);
  return rate;
}

function open(native: NativeOpus | undefined, what: string): NativeOpus {
  if (!native) throw new Error(`Opus ${what} is closed`);
  return native;
}

export function createOpusEncoder(sampleRate: number, options: { bitrate?: number; dtx?: boolean } = {}): OpusEncoder {
  const rate = checkRate(sampleRate);
  let native: NativeOpus | undefined = new NativeOpusCodec(rate, 1);
  native.setBitrate(options.bitrate ?? DEFAULT_OPUS_BITRATE);
  native.applyEncoderCTL(OPUS_SET_SIGNAL, OPUS_SIGNAL_VOICE);
  if (options.dtx) native.applyEncoderCTL(OPUS_SET_DTX, 1);
  const legalFrameSamples = new Set(OPUS_ENCODE_FRAME_MS.map((ms) => (rate * ms) / 1000));
  return {
    sampleRate: rate,
    encode(frame) {
      const encoder = open(native, 'encoder');
      if (!legalFrameSamples.has(frame.length)) throw new RangeError(`${frame.length} samples is not an Opus frame length at ${rate} Hz`);
      const pcm = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
      return new Uint8Array(encoder.encode(pcm));
    },
    close() {
      native = undefined;
    },
  };
}

export function createOpusDecoder(sampleRate: number): OpusDecoder {
  const rate = checkRate(sampleRate);
  // One native object per direction: the binding creates its encoder or decoder on first use.
  let native: NativeOpus | undefined = new NativeOpusCodec(rate, 1);
  return {
    sampleRate: rate,
    decode(packet) {
      const decoder = open(native, 'decoder');
      // An empty packet means "lost packet" to libopus (it would synthesize concealment audio).
      if (opusPacketDurationMs(packet) === null) throw new OpusPacketError('not a valid Opus packet (bad table-of-contents)');
      let pcm: Buffer;
      try {
        pcm = decoder.decode(Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength));
      } catch (err) {
        throw new OpusPacketError(`not a valid Opus packet: ${(err as Error).message}`);
      }
      const out = new Int16Array(pcm.length / 2);
      for (let i = 0; i < out.length; i++) out[i] = pcm.readInt16LE(i * 2);
      return out;
    },
    close() {
      native = undefined;
    },
  };
}

/** An encoder and a decoder at one rate, for tools and tests that round-trip audio through Opus. */
export class OpusCodec {
  readonly sampleRate: OpusSampleRate;
  private readonly encoder: OpusEncoder;
  private readonly decoder: OpusDecoder;

  constructor(sampleRate: number, options: { bitrate?: number } = {}) {
    this.encoder = createOpusEncoder(sampleRate, options);
    this.decoder = createOpusDecoder(sampleRate);
    this.sampleRate = this.encoder.sampleRate;
  }

  encode(frame: Int16Array): Uint8Array {
    return this.encoder.encode(frame);
  }

  decode(packet: Uint8Array): Int16Array {
    return this.decoder.decode(packet);
  }

  close(): void {
    this.encoder.close();
    this.decoder.close();
  }
}

/** Frame duration in ms of each TOC configuration (RFC 6716 §3.1, table 2). */
function tocFrameMs(config: number): number {
  if (config < 12) return [10, 20, 40, 60][config % 4]!; // SILK-only
  if (config < 16) return [10, 20][config % 2]!; // hybrid
  return [2.5, 5, 10, 20][config % 4]!; // CELT-only
}

/**
 * Audio duration of one Opus packet from its table-of-contents byte, without decoding;
 * null when the header is malformed (empty, a code-3 packet without a frame count, no
 * frames, or over 120 ms). RFC 6716 §3.1–3.2.
 */
export function opusPacketDurationMs(packet: Uint8Array): number | null {
  const toc = packet[0];
  if (toc === undefined) return null;
  const frameMs = tocFrameMs(toc >> 3);
  let frames: number;
  switch (toc & 0x3) {
    case 0:
      frames = 1;
      break;
    case 1:
    case 2:
      frames = 2;
      break;
    default: {
      const countByte = packet[1];
      if (countByte === undefined) return null;
      frames = countByte & 0x3f;
    }
  }
  const ms = frames * frameMs;
  if (frames === 0 || ms > OPUS_MAX_PACKET_MS) return null;
  return ms;
}
