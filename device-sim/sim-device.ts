/**
 * A simulated wearable: connects over WebSocket or MQTT, says hello, and plays push-to-talk
 * turns (docs/protocol.md §4) from audio or typed text. Every gateway message is validated with
 * parseGatewayMessage; an `error` message or anything invalid is kept as a ProtocolIssue.
 * Built for hundreds of devices in one process: no shared state, and close() leaves no timer,
 * socket or codec behind.
 */
import { EventEmitter } from 'node:events';
import {
  parseGatewayMessage,
  type ButtonEvent,
  type DeviceMessage,
  type ErrorCode,
  type GatewayHello,
  type GatewayMessage,
  type StatusMessage,
} from '../protocol/index.ts';
import { createMicEncoder, splitFrames, type EncodedMic, type MicCodec } from './audio-encoder.ts';
import type { ConnectionHandlers, DeviceConnection, ReplyFrameHeader, SimTransport } from './connection.ts';
import { connectMqtt } from './mqtt-connection.ts';
import { paceFrames } from './pacer.ts';
import { PendingReplies } from './pending-replies.ts';
import {
  deviceHello,
  helloMismatches,
  resolveDeviceSetup,
  type DeviceSetup,
  type SimDeviceOptions,
  type TalkOptions,
} from './sim-device-options.ts';
import type { SimTimeouts } from './timeouts.ts';
import { TurnCollector } from './turn-collector.ts';
import type { ProtocolIssue, ProtocolIssueKind, TurnResult } from './turn-result.ts';
import { connectWebSocket } from './ws-connection.ts';

export interface SimDeviceEvents {
  /** Every valid gateway message, after the device has processed it. */
  message: [message: GatewayMessage];
  /** Every reply audio packet (header only on MQTT). */
  audio: [packet: Uint8Array, header: ReplyFrameHeader | undefined];
  /** A message type this protocol version does not know (ignored, as the protocol requires). */
  ignored: [type: string];
  issue: [issue: ProtocolIssue];
  /** Every message the device sent. */
  sent: [message: DeviceMessage];
  turn: [result: TurnResult];
  close: [reason: string];
}

type DeviceState = 'new' | 'connecting' | 'ready' | 'closed';

const now = () => performance.now();

export class SimDevice extends EventEmitter<SimDeviceEvents> {
  readonly deviceId: string;
  readonly transport: SimTransport;
  readonly codec: MicCodec;
  readonly frameMs: number;
  /** Every protocol issue since construction; the CLI fails when this is not empty. */
  readonly issues: ProtocolIssue[] = [];
  private readonly setup: DeviceSetup;
  private readonly timeouts: SimTimeouts;
  private state: DeviceState = 'new';
  private closing: Promise<void> | undefined;
  private connection: DeviceConnection | undefined;
  private hello: GatewayHello | undefined;
  private readonly pending = new PendingReplies(now);
  private activeTurn: TurnCollector | undefined;
  private lastTurn: number | undefined;
  private nextTurnId: number;
  private nextPingId = 1;
  private strayAudio = 0;

  /** Throws RangeError on options no gateway would accept (checked before any connection). */
  constructor(options: SimDeviceOptions) {
    super();
    this.setup = resolveDeviceSetup(options);
    this.deviceId = this.setup.deviceId;
    this.transport = this.setup.transport;
    this.codec = this.setup.codec;
    this.frameMs = this.setup.frameMs;
    this.timeouts = this.setup.timeouts;
    this.nextTurnId = this.setup.firstTurn;
  }

  get sessionId(): string | undefined {
    return this.hello?.session_id;
  }
  /** The gateway's hello (its reply audio parameters), once connected. */
  get gatewayHello(): GatewayHello | undefined {
    return this.hello;
  }
  get ready(): boolean {
    return this.state === 'ready';
  }
  /** Reply packets that belonged to no turn in progress. */
  get strayAudioPackets(): number {
    return this.strayAudio;
  }

  /** Connects, sends hello and waits for the gateway's. Throws ConnectError or a timeout Error (also kept in `issues`). */
  async connect(): Promise<GatewayHello> {
    if (this.state !== 'new') throw new Error(`connect() on a device that is ${this.state}`);
    this.state = 'connecting';
    const connect = this.transport === 'mqtt' ? connectMqtt : connectWebSocket;
    try {
      this.connection = await connect(
        {
          url: this.setup.url,
          deviceId: this.deviceId,
          token: this.setup.token,
          prefix: this.setup.prefix,
          connectTimeoutMs: this.timeouts.connectMs,
          closeTimeoutMs: this.timeouts.closeMs,
        },
        this.connectionHandlers(),
      );
    } catch (error) {
      this.state = 'closed';
      this.recordIssue('connection', (error as Error).message);
      throw error;
    }
    const hello = this.pending.expectHello(this.timeouts.helloMs, (message) => this.recordIssue('timeout', message));
    try {
      await this.send(deviceHello(this.setup));
      const answer = await hello;
      this.state = 'ready';
      return answer;
    } catch (error) {
      hello.catch(() => {}); // settled by teardown below if still pending
      await this.shutdown(`hello failed: ${(error as Error).message}`, false);
      throw error;
    }
  }

  /**
   * One push-to-talk turn: `listen start`, the audio in frames at real time ÷ speed, `listen stop`
   * with the frame count, then everything the gateway answers until `tts stop` (or no reply).
   * Pass an EncodedMic to share one encoding between many devices.
   */
  async talk(audio: Float32Array | EncodedMic, options: TalkOptions = {}): Promise<TurnResult> {
    const connection = this.beginTurnCheck();
    const encoded = audio instanceof Float32Array ? undefined : audio;
    const codec = encoded?.codec ?? options.codec ?? this.codec;
    const frameMs = encoded?.frameMs ?? options.frameMs ?? this.frameMs;
    const frames = encoded ? undefined : splitFrames(audio as Float32Array, frameMs);
    const frameCount = encoded ? encoded.packets.length : frames!.length;
    const encoder = encoded ? undefined : createMicEncoder(codec, frameMs);
    const turn = this.nextTurnId;
    this.nextTurnId = (this.nextTurnId + 1) >>> 0;
    const collector = this.startCollector('audio', turn, options.abortAfterMs);
    try {
      await this.send({ type: 'listen', session_id: this.sessionId, state: 'start', mode: options.mode ?? 'manual', turn });
      const sent = await paceFrames({
        frameCount,
        frameMs,
        speed: options.speed ?? 1,
        signal: collector.listeningSignal,
        send: (index) => connection.sendAudio(encoded ? encoded.packets[index]! : encoder!.encode(frames![index]!), turn, index),
      });
      // Released before sending: the answer may overtake the send's completion (MQTT PUBACK).
      const endedByGateway = collector.endedByGateway;
      collector.released(sent);
      if (!collector.done && !endedByGateway) {
        await this.send({ type: 'listen', session_id: this.sessionId, state: 'stop', turn, frames: sent });
      }
    } catch (error) {
      this.recordIssue('connection', `turn ${turn}: ${(error as Error).message}`, turn);
      collector.abandon();
    } finally {
      encoder?.close();
    }
    return this.endTurn(collector);
  }

  /** A typed turn (`listen detect`): the text stands for what the user said. */
  async typed(text: string, options: Pick<TalkOptions, 'abortAfterMs'> = {}): Promise<TurnResult> {
    this.beginTurnCheck();
    const collector = this.startCollector('typed', undefined, options.abortAfterMs);
    try {
      collector.released(0); // before sending: the reply may overtake the send's completion
      await this.send({ type: 'listen', session_id: this.sessionId, state: 'detect', text });
    } catch (error) {
      this.recordIssue('connection', `typed turn: ${(error as Error).message}`);
      collector.abandon();
    }
    return this.endTurn(collector);
  }

  /** Barge-in by hand (talk's abortAfterMs does it at a chosen moment). */
  abort(reason = 'button'): Promise<void> {
    return this.send({ type: 'abort', session_id: this.sessionId, reason });
  }

  /** Forget this device's conversation history. */
  reset(): Promise<void> {
    return this.send({ type: 'reset', session_id: this.sessionId });
  }

  status(fields: Omit<StatusMessage, 'type' | 'session_id'>): Promise<void> {
    return this.send({ type: 'status', session_id: this.sessionId, ...fields });
  }

  button(event: ButtonEvent): Promise<void> {
    return this.send({ type: 'button', session_id: this.sessionId, event });
  }

  /** Round trip to the gateway in ms. */
  async ping(): Promise<number> {
    const id = this.nextPingId++;
    const pongMs = this.timeouts.pongMs;
    const pong = this.pending.expectPong(id, pongMs, () => this.recordIssue('timeout', `no pong ${id} within ${pongMs} ms`));
    try {
      await this.send({ type: 'ping', id });
    } catch (error) {
      this.pending.settlePing(id, error as Error);
    }
    return pong;
  }

  /** Resolves with the next gateway message that matches (for tests that watch the flow). */
  waitForMessage(match: (message: GatewayMessage) => boolean, timeoutMs = this.timeouts.replyStartMs): Promise<GatewayMessage> {
    if (this.state === 'closed') return Promise.reject(new Error('device is closed'));
    return this.pending.waitFor(match, timeoutMs);
  }

  /** Says goodbye and closes; idempotent. Ends a turn in progress as `disconnected`. */
  close(reason = 'sleep'): Promise<void> {
    return this.shutdown(reason, true);
  }

  /** Loses the connection abruptly, without goodbye (MQTT: the broker publishes the will). */
  drop(): void {
    if (this.state === 'closed') return;
    this.connection?.drop();
    this.teardown('dropped by the device');
  }

  // ---- internals ---------------------------------------------------------------------------

  private async send(message: DeviceMessage): Promise<void> {
    if (!this.connection || this.state === 'closed') throw new Error('device is not connected');
    await this.connection.sendControl(message);
    this.emit('sent', message);
  }

  private connectionHandlers(): ConnectionHandlers {
    return {
      control: (text) => this.receiveControl(text),
      audio: (packet, header) => {
        if (!this.activeTurn?.onAudio(packet, header)) this.strayAudio += 1;
        this.emit('audio', packet, header);
      },
      invalid: (reason) => this.recordIssue('invalid_audio', reason),
      closed: (reason) => {
        if (this.closing || this.state === 'closed') return;
        this.recordIssue('connection', `connection lost: ${reason}`);
        this.teardown(reason);
      },
    };
  }

  private receiveControl(text: string): void {
    const parsed = parseGatewayMessage(text);
    if (parsed.kind === 'ignored') return void this.emit('ignored', parsed.type);
    if (parsed.kind === 'invalid') return this.recordIssue('invalid_message', `${parsed.reason}: ${text.slice(0, 200)}`);
    const message = parsed.message;
    switch (message.type) {
      case 'hello':
        this.receiveHello(message);
        break;
      case 'pong':
        if (typeof message.id === 'number') this.pending.settlePing(message.id);
        break;
      case 'error':
        this.recordIssue('gateway_error', `${message.code}: ${message.message}`, message.turn, message.code);
        break;
      default:
        this.activeTurn?.onMessage(message);
    }
    this.pending.offer(message);
    this.emit('message', message);
  }

  private receiveHello(hello: GatewayHello): void {
    if (!this.pending.awaitingHello) return this.recordIssue('unexpected', 'hello from the gateway when none was awaited');
    this.hello = hello;
    for (const mismatch of helloMismatches(this.setup, hello)) this.recordIssue('unexpected', mismatch);
    this.pending.resolveHello(hello);
  }

  private recordIssue(kind: ProtocolIssueKind, message: string, turn?: number, code?: ErrorCode): void {
    const issue: ProtocolIssue = { kind, message, atMs: now() };
    if (turn !== undefined) issue.turn = turn;
    if (code !== undefined) issue.code = code;
    this.issues.push(issue);
    const active = this.activeTurn;
    if (active && (turn === undefined || active.turnId === undefined || active.turnId === turn)) active.addIssue(issue);
    this.emit('issue', issue);
  }

  private beginTurnCheck(): DeviceConnection {
    if (this.state !== 'ready' || !this.connection) throw new Error(`device is not ready (${this.state})`);
    if (this.activeTurn) throw new Error('a turn is already in progress');
    return this.connection;
  }

  private startCollector(kind: 'audio' | 'typed', turn: number | undefined, abortAfterMs: number | undefined): TurnCollector {
    const reply = this.hello!.audio_params;
    const collector = new TurnCollector({
      kind,
      turn,
      staleTurn: this.lastTurn,
      transport: this.transport,
      reply: { format: reply.format, sampleRate: reply.sample_rate },
      timeouts: this.timeouts,
      abortAfterMs,
      sendAbort: () => {
        this.abort('button').catch((error: Error) => this.recordIssue('connection', `abort: ${error.message}`, collector.turnId));
      },
      reportIssue: (issueKind, message, issueTurn) => this.recordIssue(issueKind, message, issueTurn),
      now,
    });
    this.activeTurn = collector;
    return collector;
  }

  private async endTurn(collector: TurnCollector): Promise<TurnResult> {
    const result = await collector.result;
    if (this.activeTurn === collector) this.activeTurn = undefined;
    if (result.turn !== null) this.lastTurn = result.turn;
    this.emit('turn', result);
    return result;
  }

  private shutdown(reason: string, sayGoodbye: boolean): Promise<void> {
    if (this.closing) return this.closing;
    if (this.state === 'closed') return Promise.resolve();
    this.closing = (async () => {
      const connection = this.connection;
      if (connection && sayGoodbye && this.state === 'ready') {
        // Best effort: a goodbye that cannot be delivered in time changes nothing.
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          this.send({ type: 'goodbye', session_id: this.sessionId, reason }).catch(() => {}),
          new Promise((resolve) => (timer = setTimeout(resolve, this.timeouts.closeMs))),
        ]);
        clearTimeout(timer);
      }
      this.teardown(reason);
      await connection?.close();
    })();
    return this.closing;
  }

  /** Releases everything the device holds; safe to call more than once. */
  private teardown(reason: string): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.activeTurn?.abandon();
    this.pending.rejectAll(reason);
    this.emit('close', reason);
  }
}
