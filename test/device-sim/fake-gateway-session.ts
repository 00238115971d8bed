/**
 * The protocol side of a small fake gateway for the device-simulator tests (test only): answers
 * hello, waits for `listen stop`'s frames, sends scripted partials, final, and a reply of
 * sentences with real encoded audio, honours `abort`, answers `ping`. Everything it receives
 * is validated with parseDeviceMessage and recorded so tests can check what the device sent.
 */
import { EventEmitter } from 'node:events';
import {
  parseDeviceMessage,
  resolveReplyParams,
  type DeviceHello,
  type DeviceMessage,
  type ErrorCode,
  type GatewayAudioParams,
  type GatewayMessage,
} from '../../protocol/index.ts';
import { OpusCodec } from '../../audio/opus.ts';
import { int16ToPcm16Bytes } from '../../audio/pcm16.ts';

export interface FakeScript {
  partials: string[];
  /** Final transcript; '' sends an empty final and no reply. */
  final: string;
  sentences: string[];
  packetsPerSentence: number;
  /** Gap between reply packets (the fake does not pace in real time). */
  packetIntervalMs: number;
  /** Send this error (with the turn id) after the final, and no reply. */
  errorAfterFinal?: ErrorCode;
  /** Raw texts sent right after hello (to test invalid messages). */
  rawAfterHello: string[];
  /** Never send a final (to test timeouts). */
  silentAfterStop: boolean;
  /** The turn id the fake gives a typed turn. */
  typedTurnId: number;
  /** Never answer hello. */
  noHello: boolean;
}

export const DEFAULT_SCRIPT: FakeScript = {
  partials: ['hello'],
  final: 'hello world',
  sentences: ['Hi there.', 'How can I help?'],
  packetsPerSentence: 4,
  packetIntervalMs: 5,
  rawAfterHello: [],
  silentAfterStop: false,
  typedTurnId: 9000,
  noHello: false,
};

/** The fake waits this long for frames still in flight after `listen stop` (docs/protocol.md §1.3). */
const FRAME_WAIT_MS = 300;

export interface FakeLink {
  sendText(text: string): void;
  sendAudio(packet: Uint8Array, turn: number, seq: number): void;
}

export interface MicPacket {
  packet: Uint8Array;
  turn?: number;
  seq?: number;
}

export class FakeSession extends EventEmitter {
  readonly received: DeviceMessage[] = [];
  readonly invalid: string[] = [];
  readonly micPackets: MicPacket[] = [];
  /** Reply samples sent per turn, as int16 (what a pcm16 reply must decode to). */
  readonly replySent = new Map<number, Int16Array[]>();
  hello: DeviceHello | undefined;
  replyParams: GatewayAudioParams | undefined;
  disconnectReason: string | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();
  private speakingTurn: number | undefined;
  private codec: OpusCodec | undefined;

  constructor(
    readonly deviceId: string,
    readonly transport: 'websocket' | 'mqtt',
    private readonly link: FakeLink,
    private readonly script: FakeScript,
  ) {
    super();
  }

  /** Messages of one type the device sent. */
  sent<T extends DeviceMessage['type']>(type: T): Extract<DeviceMessage, { type: T }>[] {
    return this.received.filter((m): m is Extract<DeviceMessage, { type: T }> => m.type === type);
  }

  receiveControl(text: string): void {
    const parsed = parseDeviceMessage(text);
    if (parsed.kind !== 'message') {
      this.invalid.push(text);
      this.emit('invalid', text);
      return;
    }
    const message = parsed.message;
    this.received.push(message);
    this.emit('received', message);
    switch (message.type) {
      case 'hello':
        return this.answerHello(message);
      case 'ping':
        return this.send(message.id === undefined ? { type: 'pong' } : { type: 'pong', id: message.id });
      case 'abort':
        return this.stopSpeaking('aborted');
      case 'listen':
        if (message.state === 'stop') return void this.afterStop(message.turn ?? 0, message.frames ?? 0);
        if (message.state === 'detect') return void this.reply(this.script.typedTurnId, message.text);
        return;
      default:
        return;
    }
  }

  receiveAudio(packet: Uint8Array, header?: { turn: number; seq: number }): void {
    this.micPackets.push({ packet, ...header });
    this.emit('audio');
  }

  disconnected(reason: string): void {
    this.disconnectReason = reason;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.codec?.close();
    this.codec = undefined;
    this.emit('disconnected', reason);
  }

  private send(message: GatewayMessage | Record<string, unknown>): void {
    this.link.sendText(JSON.stringify(message));
  }

  private answerHello(hello: DeviceHello): void {
    this.hello = hello;
    if (this.script.noHello) return;
    const reply = resolveReplyParams(hello.audio_params, hello.reply_audio);
    if (!reply.ok) return this.send({ type: 'error', code: 'unsupported_audio', message: reply.reason });
    this.replyParams = reply.value;
    this.send({ type: 'hello', transport: this.transport, session_id: `S-${this.deviceId}`, version: 1, audio_params: reply.value });
    for (const raw of this.script.rawAfterHello) this.link.sendText(raw);
  }

  private delay(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => (this.timers.delete(timer), resolve()), ms);
      this.timers.add(timer);
    });
  }

  private async afterStop(turn: number, frames: number): Promise<void> {
    // MQTT: QoS 0 frames may still be behind the QoS 1 stop.
    const deadline = performance.now() + FRAME_WAIT_MS;
    while (this.micPackets.filter((p) => p.turn === undefined || p.turn === turn).length < frames && performance.now() < deadline) {
      await this.delay(5);
    }
    if (this.script.silentAfterStop) return;
    await this.reply(turn, undefined);
  }

  private async reply(turn: number, typedText: string | undefined): Promise<void> {
    const session_id = `S-${this.deviceId}`;
    if (typedText === undefined) {
      for (const text of this.script.partials) this.send({ type: 'stt', session_id, text, final: false, turn });
      this.send({ type: 'stt', session_id, text: this.script.final, final: true, turn });
      if (this.script.final === '') return;
    }
    if (this.script.errorAfterFinal) {
      return this.send({ type: 'error', session_id, code: this.script.errorAfterFinal, message: 'scripted failure', turn });
    }
    this.speakingTurn = turn;
    this.replySent.set(turn, []);
    this.send({ type: 'tts', session_id, state: 'start', turn });
    let seq = 0;
    for (const text of this.script.sentences) {
      if (this.speakingTurn !== turn) return;
      this.send({ type: 'tts', session_id, state: 'sentence_start', text, turn });
      for (let i = 0; i < this.script.packetsPerSentence; i++) {
        await this.delay(this.script.packetIntervalMs);
        if (this.speakingTurn !== turn) return;
        this.link.sendAudio(this.replyPacket(turn, seq), turn, seq);
        seq += 1;
      }
    }
    this.stopSpeaking('done');
  }

  private stopSpeaking(reason: 'done' | 'aborted'): void {
    const turn = this.speakingTurn;
    if (turn === undefined) return;
    this.speakingTurn = undefined;
    this.send({ type: 'tts', session_id: `S-${this.deviceId}`, state: 'stop', turn, reason });
  }

  /** One reply frame of a 440 Hz tone, continuing across packets. */
  private replyPacket(turn: number, seq: number): Uint8Array {
    const params = this.replyParams!;
    const size = (params.sample_rate * params.frame_duration) / 1000;
    const pcm = new Int16Array(size);
    for (let i = 0; i < size; i++) pcm[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * (seq * size + i)) / params.sample_rate));
    this.replySent.get(turn)?.push(pcm);
    if (params.format === 'pcm16') return int16ToPcm16Bytes(pcm);
    this.codec ??= new OpusCodec(params.sample_rate);
    return this.codec.encode(pcm);
  }
}
