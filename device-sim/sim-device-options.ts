/**
 * What a simulated device is set up with, checked once at construction, and the handshake
 * that follows from it: the `hello` it sends and what it expects back (docs/protocol.md §3).
 */
import {
  createTopics,
  DEFAULT_TOPIC_PREFIX,
  isValidDeviceId,
  MIC_SAMPLE_RATE,
  PROTOCOL_VERSION,
  REPLY_SAMPLE_RATES,
  type DeviceMessage,
  type GatewayHello,
  type ReplySampleRate,
} from '../protocol/index.ts';
import { assertMicParams, type MicCodec } from './audio-encoder.ts';
import type { SimTransport } from './connection.ts';
import { resolveTimeouts, type SimTimeouts } from './timeouts.ts';

export interface SimDeviceOptions {
  transport: SimTransport;
  /** ws://host:port (the /v1/device path is added when absent) or mqtt://host:port. */
  url: string;
  deviceId: string;
  token: string;
  /** MQTT topic prefix; default `voxgate`. */
  prefix?: string;
  /** Microphone codec; default `opus`. */
  codec?: MicCodec;
  /** Microphone frame duration; default 60 ms. */
  frameMs?: number;
  /** Reply codec asked for in hello; default: the microphone codec. */
  replyFormat?: MicCodec;
  /** Reply sample rate asked for in hello; default 16000. */
  replyRate?: ReplySampleRate;
  /** hello.features; default `{ partial_stt: true }`. */
  features?: Record<string, unknown>;
  timeouts?: Partial<SimTimeouts>;
  /** Id of the first turn (then +1 per turn, wrapping at 2^32); default 1. */
  firstTurn?: number;
}

export interface TalkOptions {
  /** 1 = real time (default); N streams N times faster (the gateway rate-limits above 2). */
  speed?: number;
  /** `manual` (default): the turn ends at `listen stop`; `auto`: the gateway's VAD may end it first. */
  mode?: 'manual' | 'auto';
  /** Sends `abort` this long after the first reply audio packet (barge-in). */
  abortAfterMs?: number;
  /** Codec of this turn's packets; default the hello codec. A different one tests the gateway's `unsupported_audio`. */
  codec?: MicCodec;
  /** Frame duration of this turn; default the hello one. */
  frameMs?: number;
}

/** The options with every default filled in. */
export interface DeviceSetup {
  transport: SimTransport;
  url: string;
  deviceId: string;
  token: string;
  prefix: string;
  codec: MicCodec;
  frameMs: number;
  replyFormat: MicCodec;
  replyRate: ReplySampleRate;
  features: Record<string, unknown>;
  timeouts: SimTimeouts;
  firstTurn: number;
}

/** Fills in the defaults; throws RangeError on what no gateway would accept, before any connection. */
export function resolveDeviceSetup(options: SimDeviceOptions): DeviceSetup {
  if (!isValidDeviceId(options.deviceId)) throw new RangeError(`invalid device id ${JSON.stringify(options.deviceId)}`);
  const codec = options.codec ?? 'opus';
  const frameMs = options.frameMs ?? 60;
  assertMicParams(codec, frameMs);
  const replyRate = options.replyRate ?? 16000;
  if (!(REPLY_SAMPLE_RATES as readonly number[]).includes(replyRate)) throw new RangeError(`reply rate ${replyRate} is not 16000 or 24000`);
  createTopics(options.prefix); // throws on an invalid prefix
  return {
    transport: options.transport,
    url: options.url,
    deviceId: options.deviceId,
    token: options.token,
    prefix: options.prefix ?? DEFAULT_TOPIC_PREFIX,
    codec,
    frameMs,
    replyFormat: options.replyFormat ?? codec,
    replyRate,
    features: options.features ?? { partial_stt: true },
    timeouts: resolveTimeouts(options.timeouts),
    firstTurn: (options.firstTurn ?? 1) >>> 0,
  };
}

/** The device's `hello`: its microphone format and the reply audio it wants. */
export function deviceHello(setup: DeviceSetup): DeviceMessage {
  return {
    type: 'hello',
    version: PROTOCOL_VERSION,
    transport: setup.transport,
    features: setup.features,
    audio_params: { format: setup.codec, sample_rate: MIC_SAMPLE_RATE, channels: 1, frame_duration: setup.frameMs },
    reply_audio: { format: setup.replyFormat, sample_rate: setup.replyRate },
  };
}

/** Where the gateway's hello differs from what the device asked for (each one a protocol issue). */
export function helloMismatches(setup: DeviceSetup, hello: GatewayHello): string[] {
  const mismatches: string[] = [];
  const { format, sample_rate } = hello.audio_params;
  if (format !== setup.replyFormat || sample_rate !== setup.replyRate) {
    mismatches.push(`gateway will send ${format} ${sample_rate} Hz, device asked for ${setup.replyFormat} ${setup.replyRate} Hz`);
  }
  if (hello.transport !== setup.transport) mismatches.push(`gateway hello says transport ${hello.transport}`);
  return mismatches;
}
