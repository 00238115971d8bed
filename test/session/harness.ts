/** Builds a session hub on the test fakes and drives one device through it, as a transport would. */
import { parseDeviceMessage, type GatewayMessage } from '../../protocol/index.ts';
import { createOpusEncoder } from '../../audio/opus.ts';
import { int16ToPcm16Bytes } from '../../audio/pcm16.ts';
import type { Responder } from '../../gateway/brain/types.ts';
import { LimitsSchema, type Limits } from '../../gateway/session/limits-config.ts';
import type { PreemptionSettings } from '../../gateway/session/preemption-config.ts';
import type { SessionEvents } from '../../gateway/session/events.ts';
import type { DeviceSessionPort, InboundAudio, TransportName } from '../../gateway/session/link.ts';
import { createSessionHub, type SessionHubDeps } from '../../gateway/session/session-hub.ts';
import type { TurnEndDetectorFactory } from '../../gateway/speech/types.ts';
import type { TurnRecorder } from '../../gateway/store/types.ts';
import { readWavPcm16, SPEECH_60S_WAV } from '../audio/wav.ts';
import { createCaptureLogger } from '../fakes/capture-logger.ts';
import { FakeLink } from '../fakes/fake-link.ts';
import { FakeRecorder } from '../fakes/fake-recorder.ts';
import { FakeResponder, type FakeResponderOptions } from '../fakes/fake-responder.ts';
import { FakeStt, type FakeSttOptions } from '../fakes/fake-stt.ts';
import { FakeTts, type FakeTtsOptions } from '../fakes/fake-tts.ts';

/** Tests send audio faster than real time; a large burst keeps the rate limit out of the way (its own test uses the defaults). */
export const TEST_LIMITS: Limits = LimitsSchema.parse({ rateBurstMs: 600_000 });

export interface HarnessOptions {
  limits?: Partial<Limits>;
  stt?: FakeSttOptions;
  tts?: FakeTtsOptions;
  responder?: FakeResponderOptions;
  /** A responder that replaces the fake (e.g. the real ConversationResponder); `responder` then only configures the unused fake. */
  brain?: Responder;
  /** Turns are recorded here too (e.g. a real store, for conversation memory). */
  alsoRecordTo?: TurnRecorder;
  /** Preemptive generation; off when absent (as for a hub without it). */
  preemption?: PreemptionSettings;
  turnEnd?: TurnEndDetectorFactory;
  transport?: TransportName;
  deviceId?: string;
  apologyText?: string;
}

export type EventLog = Array<{ name: keyof SessionEvents; e: unknown }>;

export function createHarness(options: HarnessOptions = {}) {
  const stt = new FakeStt(options.stt);
  const tts = new FakeTts(options.tts);
  const responder = new FakeResponder(options.responder);
  const recorder = new FakeRecorder();
  const log = createCaptureLogger();
  const eventLog: EventLog = [];
  const events = new Proxy({} as SessionEvents, {
    get: (_t, name) => (e: unknown) => eventLog.push({ name: name as keyof SessionEvents, e }),
  });
  const seen: string[] = [];
  const deps: SessionHubDeps = {
    stt,
    tts,
    responder: options.brain ?? responder,
    recorder: options.alsoRecordTo ? { recordTurn: (turn) => (options.alsoRecordTo!.recordTurn(turn), recorder.recordTurn(turn)) } : recorder,
    preemption: options.preemption,
    turnEnd: options.turnEnd,
    limits: { ...TEST_LIMITS, ...options.limits },
    logger: log.logger,
    events,
    onDeviceSeen: (id) => seen.push(id),
    apologyText: options.apologyText,
  };
  const hub = createSessionHub(deps);
  const connect = (deviceId = options.deviceId ?? 'dev-1', transport: TransportName = options.transport ?? 'websocket') => {
    const link = new FakeLink(deviceId, transport);
    const port = hub.openSession(link);
    return new Device(link, port);
  };
  return { stt, tts, responder, recorder, log, eventLog, seen, hub, deps, connect };
}

/** One simulated device: sends control messages and audio into its session port. */
export class Device {
  sessionId = '';

  constructor(
    readonly link: FakeLink,
    readonly port: DeviceSessionPort,
  ) {}

  /** Sends an object (or raw text) as a control message, parsed as a transport would. */
  control(message: object | string): void {
    this.port.receiveControl(parseDeviceMessage(typeof message === 'string' ? message : JSON.stringify(message)));
  }

  async hello(mic: { format?: string; frameMs?: number } = {}, reply?: { format: string; sample_rate: number }): Promise<string> {
    this.control({
      type: 'hello',
      version: 1,
      transport: this.link.transport,
      audio_params: { format: mic.format ?? 'pcm16', sample_rate: 16000, channels: 1, frame_duration: mic.frameMs ?? 60 },
      ...(reply ? { reply_audio: reply } : {}),
    });
    const hello = (await this.link.waitFor((m) => m.type === 'hello')) as Extract<GatewayMessage, { type: 'hello' }>;
    this.sessionId = hello.session_id;
    return hello.session_id;
  }

  listen(state: 'start' | 'stop', extra: Record<string, unknown> = {}): void {
    this.control({ session_id: this.sessionId, type: 'listen', state, ...extra });
  }

  audio(packet: Uint8Array, header?: { turn: number; seq: number }): void {
    const audio: InboundAudio = header ? { packet, turn: header.turn, seq: header.seq } : { packet };
    this.port.receiveAudio(audio);
  }

  /** Sends packets, `perTick` at a time with a macrotask between (so timers can run), or all at once. */
  async stream(packets: Uint8Array[], options: { turn?: number; gapMs?: number; perTick?: number } = {}): Promise<void> {
    const perTick = options.perTick ?? packets.length;
    for (let i = 0; i < packets.length; i++) {
      this.audio(packets[i]!, options.turn !== undefined ? { turn: options.turn, seq: i & 0xffff } : undefined);
      if ((i + 1) % perTick === 0) await new Promise((r) => setTimeout(r, options.gapMs ?? 0));
    }
  }

  messages<T extends GatewayMessage['type']>(type?: T) {
    return this.link.messages(type);
  }
}

// ---- audio ------------------------------------------------------------------

let speech: Int16Array | undefined;
/** `seconds` of the real-speech fixture, starting at `from` seconds (16 kHz int16). */
export function speechSamples(seconds: number, from = 1): Int16Array {
  speech ??= readWavPcm16(SPEECH_60S_WAV).samples;
  return speech.slice(Math.round(from * 16000), Math.round((from + seconds) * 16000));
}

export function silenceSamples(seconds: number): Int16Array {
  return new Int16Array(Math.round(seconds * 16000));
}

export function pcmPackets(samples: Int16Array, frameMs = 60): Uint8Array[] {
  const n = (16000 * frameMs) / 1000;
  const out: Uint8Array[] = [];
  for (let i = 0; i < samples.length; i += n) out.push(int16ToPcm16Bytes(samples.subarray(i, i + n)));
  return out;
}

export function opusPackets(samples: Int16Array, frameMs = 60): Uint8Array[] {
  const enc = createOpusEncoder(16000);
  const n = (16000 * frameMs) / 1000;
  const out: Uint8Array[] = [];
  for (let i = 0; i + n <= samples.length; i += n) out.push(enc.encode(samples.subarray(i, i + n)));
  return out;
}

/** Index of the first sent message matching, or -1. */
export function indexOf(device: Device, predicate: (m: GatewayMessage) => boolean): number {
  return device.link.sent.findIndex((s) => predicate(s.message));
}

export const isType =
  <T extends GatewayMessage['type']>(type: T, extra: (m: Extract<GatewayMessage, { type: T }>) => boolean = () => true) =>
  (m: GatewayMessage): boolean =>
    m.type === type && extra(m as Extract<GatewayMessage, { type: T }>);
