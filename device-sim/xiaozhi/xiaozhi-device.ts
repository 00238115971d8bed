/**
 * A simulated stock xiaozhi-esp32 device (78/xiaozhi-esp32, the behaviour in docs/xiaozhi.md):
 * boots through the OTA URL (pairing when asked: the code is reported, then /activate is
 * polled), opens the transport it was given (the WebSocket with the protocol version's
 * framing, or MQTT + encrypted UDP), says hello with `features.mcp`, answers MCP requests with
 * its tools, and talks in the firmware's three listening modes. It checks what a real device would choke on: a hello it would not accept,
 * audio outside `tts start`…`stop` (dropped by the firmware), frames longer than announced,
 * more than its 40-frame decode queue, anything more of a turn after `abort`.
 */
import { EventEmitter } from 'node:events';
import { createOpusDecoder, createOpusEncoder, type OpusDecoder } from '../../audio/opus.ts';
import { float32ToInt16, int16ToFloat32 } from '../../audio/pcm16.ts';
import { isXiaozhiProtocolVersion, parseXiaozhiServerMessage, type XiaozhiListenMode, type XiaozhiProtocolVersion, type XiaozhiServerHello, type XiaozhiServerMessage } from '../../protocol/xiaozhi/index.ts';
import { MIC_OPUS_BITRATE, micFrameSamples, splitFrames, type EncodedMic } from '../audio-encoder.ts';
import { paceFrames } from '../pacer.ts';
import { resolveTimeouts, type SimTimeouts } from '../timeouts.ts';
import type { ProtocolIssue, ProtocolIssueKind, TurnResult } from '../turn-result.ts';
import { clientIdFor, simulatedMac, type FirmwareIdentity } from './firmware-identity.ts';
import { defaultSimTools, SimMcpServer, type SimDeviceState, type SimTool } from './mcp-server.ts';
import type { XiaozhiMqttChannel } from './mqtt-channel.ts';
import { openXiaozhiChannel, type XiaozhiTransport } from './open-channel.ts';
import { bootstrap, type BootstrapResult } from './ota-client.ts';
import type { XiaozhiSimChannel } from './sim-channel.ts';
import { XiaozhiTurn } from './xiaozhi-turn.ts';

/** audio_service.h: 60 ms Opus frames at 16 kHz up. */
export const XIAOZHI_MIC_FRAME_MS = 60;
/** The firmware's decode queue (audio_service: 2400 ms / 60 ms); packets beyond it are dropped. */
export const XIAOZHI_DECODE_QUEUE_FRAMES = 40;

export interface XiaozhiSimOptions {
  /** The OTA URL entered in the firmware's Wi-Fi portal, e.g. http://host:8080/xiaozhi/ota/. */
  otaUrl: string;
  mac?: string;
  /** Default: derived from the MAC (stable across runs, as the firmware keeps it in flash). */
  clientId?: string;
  board?: string;
  /** Frames with this version whatever the OTA answer said (as if the flash held it). WebSocket only. */
  protocolVersion?: XiaozhiProtocolVersion;
  /** The transport the OTA answer must offer (connect fails otherwise); default: whichever it offers. */
  transport?: XiaozhiTransport;
  /** hello `features.mcp` (default true): the gateway then lists and may call the tools. */
  mcp?: boolean;
  tools?: SimTool[];
  mcpPageSize?: number;
  /** Tools that never answer a call. */
  silentTools?: readonly string[];
  activatePollMs?: number;
  pairTimeoutMs?: number;
  timeouts?: Partial<SimTimeouts>;
}

export interface XiaozhiTalkOptions {
  /** `manual` (push-to-talk, default), `auto` (the gateway's VAD ends it) or `realtime` (mic open while it speaks). */
  mode?: XiaozhiListenMode;
  speed?: number;
  /** Sends `abort` (the button) this long after the first reply audio. */
  abortAfterMs?: number;
}

export interface XiaozhiSimEvents {
  activation: [code: string, message: string | undefined];
  /** MQTT: the gateway's goodbye closed the audio channel. */
  goodbye: [reason: string];
  message: [message: XiaozhiServerMessage];
  audio: [packet: Uint8Array];
  sent: [message: Record<string, unknown>];
  issue: [issue: ProtocolIssue];
  close: [reason: string];
}

type FirmwareState = 'idle' | 'listening' | 'speaking';
const now = () => performance.now();

export class XiaozhiSimDevice extends EventEmitter<XiaozhiSimEvents> {
  readonly identity: FirmwareIdentity;
  readonly issues: ProtocolIssue[] = [];
  /** What the device's tools changed (volume, brightness). */
  readonly deviceState: SimDeviceState = { volume: 50, brightness: 80 };
  readonly mcp: SimMcpServer;
  readonly timeouts: SimTimeouts;
  private channel: XiaozhiSimChannel | undefined;
  private boot: BootstrapResult | undefined;
  private version: XiaozhiProtocolVersion = 1;
  private hello: XiaozhiServerHello | undefined;
  private helloWaiter: ((hello: XiaozhiServerHello) => void) | undefined;
  private turn: XiaozhiTurn | undefined;
  private firmware: FirmwareState = 'idle';
  private listenMode: XiaozhiListenMode | undefined;
  private decoder: OpusDecoder | undefined;
  private playEnd = 0;
  private aborted = false;
  private closed = false;
  /** Reply packets the firmware would have dropped (outside tts start…stop). */
  strayAudio = 0;

  constructor(private readonly options: XiaozhiSimOptions) {
    super();
    const mac = options.mac ?? simulatedMac(Math.floor(Math.random() * 2 ** 32));
    this.identity = { mac, clientId: options.clientId ?? clientIdFor(mac), ...(options.board ? { board: options.board } : {}) };
    this.timeouts = resolveTimeouts(options.timeouts);
    this.mcp = new SimMcpServer(options.tools ?? defaultSimTools(this.deviceState), { pageSize: options.mcpPageSize, silentTools: options.silentTools });
    if (options.protocolVersion !== undefined && !isXiaozhiProtocolVersion(options.protocolVersion)) throw new RangeError('protocol version must be 1, 2 or 3');
  }

  /** The device's name for itself: its MAC (the gateway's id for it is not its business). */
  get deviceId(): string {
    return this.identity.mac;
  }
  get ready(): boolean {
    return this.hello !== undefined && !this.closed;
  }
  get sessionId(): string | undefined {
    return this.hello?.session_id;
  }
  get serverHello(): XiaozhiServerHello | undefined {
    return this.hello;
  }
  get protocolVersion(): XiaozhiProtocolVersion {
    return this.version;
  }
  get transport(): XiaozhiTransport | undefined {
    return this.channel?.transport;
  }
  /** MQTT: the UDP channel's parameters from the server hello (tests forge datagrams with them). */
  get mqttChannel(): XiaozhiMqttChannel | undefined {
    return this.channel?.transport === 'mqtt' ? (this.channel as XiaozhiMqttChannel) : undefined;
  }
  /** The OTA answers of this boot (pairing code, credentials). */
  get bootResult(): BootstrapResult | undefined {
    return this.boot;
  }

  /** Boots (OTA, pairing when asked), opens the transport, says hello; resolves with the server's. */
  async connect(signal?: AbortSignal): Promise<XiaozhiServerHello> {
    try {
      this.boot = await bootstrap({
        otaUrl: this.options.otaUrl,
        identity: this.identity,
        onActivationCode: (code, message) => this.emit('activation', code, message),
        activatePollMs: this.options.activatePollMs,
        pairTimeoutMs: this.options.pairTimeoutMs,
        signal,
      });
      const opened = await openXiaozhiChannel(
        this.boot,
        { identity: this.identity, expected: this.options.transport, protocolVersion: this.options.protocolVersion, timeouts: this.timeouts },
        {
          json: (text) => this.receiveJson(text),
          audio: (payload) => this.receiveAudio(payload),
          invalid: (reason) => this.recordIssue('invalid_audio', reason),
          closed: (reason) => this.lost(reason),
          channelClosed: (reason) => this.audioChannelClosed(reason),
        },
      );
      this.channel = opened.channel;
      this.version = opened.version;
    } catch (error) {
      this.closed = true;
      this.recordIssue('connection', (error as Error).message);
      throw error;
    }
    return this.openAudioChannel();
  }

  /**
   * Says hello and resolves with the server's (done by connect). On MQTT it opens a new audio
   * channel on the same connection after closeAudioChannel() or the gateway's goodbye, as the
   * firmware does at the next button press.
   */
  async openAudioChannel(): Promise<XiaozhiServerHello> {
    if (!this.channel || this.closed) throw new Error('device is not connected');
    if (this.hello) throw new Error('the audio channel is already open');
    const answer = new Promise<XiaozhiServerHello>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no server hello within ${this.timeouts.helloMs} ms`)), this.timeouts.helloMs);
      this.helloWaiter = (hello) => {
        clearTimeout(timer);
        resolve(hello);
      };
    });
    const transport = this.channel.transport === 'mqtt' ? 'udp' : 'websocket';
    await this.send({ type: 'hello', version: this.version, features: { mcp: this.options.mcp ?? true }, transport, audio_params: { format: 'opus', sample_rate: 16000, channels: 1, frame_duration: XIAOZHI_MIC_FRAME_MS } });
    try {
      return await answer;
    } catch (error) {
      this.recordIssue('timeout', (error as Error).message);
      await this.close();
      throw error;
    }
  }

  /** One spoken turn in a listening mode of the firmware (see XiaozhiTalkOptions). */
  async talk(audio: Float32Array | EncodedMic, options: XiaozhiTalkOptions = {}): Promise<TurnResult> {
    const channel = this.beginTurn();
    const mode = options.mode ?? 'manual';
    const encoded = audio instanceof Float32Array ? undefined : audio;
    const frames = encoded ? undefined : splitFrames(audio as Float32Array, XIAOZHI_MIC_FRAME_MS);
    const count = encoded ? encoded.packets.length : frames!.length;
    const encoder = createOpusEncoder(16000, { bitrate: MIC_OPUS_BITRATE, dtx: true });
    const turn = this.startTurn('audio', options.abortAfterMs);
    const silence = new Float32Array(micFrameSamples(XIAOZHI_MIC_FRAME_MS));
    const micFrame = (frame: Float32Array) => encoder.encode(float32ToInt16(frame));
    try {
      // In auto mode the firmware is still listening after a reply (it asked again itself); realtime never stops.
      const listening = this.firmware !== 'idle' && this.listenMode === mode && mode !== 'manual';
      if (!listening) await this.send({ session_id: this.sessionId, type: 'listen', state: 'start', mode });
      this.firmware = 'listening';
      this.listenMode = mode;
      const sent = await paceFrames({ frameCount: count, frameMs: XIAOZHI_MIC_FRAME_MS, speed: options.speed ?? 1, send: (i) => channel.sendAudio(encoded ? encoded.packets[i]! : micFrame(frames![i]!)) });
      turn.released(sent);
      if (mode === 'manual') {
        await this.send({ session_id: this.sessionId, type: 'listen', state: 'stop' });
        this.firmware = 'idle';
      } else {
        // The microphone stays open: until the reply starts (auto) or the turn is over (realtime).
        const stop = new AbortController();
        void (mode === 'auto' ? turn.speakingOrDone : turn.result).then(() => stop.abort());
        const limit = this.timeouts.finalMs + this.timeouts.replyStartMs + this.timeouts.replyIdleMs;
        await paceFrames({ frameCount: Math.ceil(limit / XIAOZHI_MIC_FRAME_MS), frameMs: XIAOZHI_MIC_FRAME_MS, speed: 1, signal: stop.signal, send: () => channel.sendAudio(micFrame(silence)) });
      }
    } catch (error) {
      this.recordIssue('connection', `turn: ${(error as Error).message}`);
      turn.disconnected();
    } finally {
      encoder.close();
    }
    return this.endTurn(turn);
  }

  /** A typed turn (`listen detect` with text that is not a wake word). */
  async typed(text: string, options: Pick<XiaozhiTalkOptions, 'abortAfterMs'> = {}): Promise<TurnResult> {
    const channel = this.beginTurn();
    const turn = this.startTurn('typed', options.abortAfterMs);
    try {
      // MQTT: the firmware sends the wake word's buffered audio before `listen detect`
      // (CONFIG_SEND_WAKE_WORD_DATA, on by default); the gateway learns its UDP address from it.
      if (channel.transport === 'mqtt') this.sendWakeWordAudio(channel);
      await this.send({ session_id: this.sessionId, type: 'listen', state: 'detect', text });
    } catch (error) {
      this.recordIssue('connection', `typed turn: ${(error as Error).message}`);
      turn.disconnected();
    }
    return this.endTurn(turn);
  }

  /** The button while speaking: `{"type":"abort"}`. */
  abort(reason?: string): Promise<void> {
    this.aborted = true;
    return this.send({ session_id: this.sessionId, type: 'abort', ...(reason ? { reason } : {}) });
  }

  /** Sends any JSON (tests of bad input). */
  send(message: Record<string, unknown>): Promise<void> {
    if (!this.channel || this.closed) return Promise.reject(new Error('device is not connected'));
    return this.channel.sendJson(message).then(() => void this.emit('sent', message));
  }

  /** Sends one raw binary frame payload in the device's framing (tests of bad input). */
  sendAudio(packet: Uint8Array): void {
    this.channel?.sendAudio(packet);
  }

  /** Sends one binary frame as given, without the version's framing (tests of bad headers). */
  sendRawBinary(frame: Uint8Array): void {
    this.channel?.sendRawBinary(frame);
  }

  /** MQTT: closes the audio channel as the firmware does (`goodbye`, UDP closed); the MQTT connection stays. */
  async closeAudioChannel(): Promise<void> {
    const mqtt = this.mqttChannel;
    if (!mqtt) throw new Error('only the MQTT transport has an audio channel of its own');
    this.turn?.disconnected();
    this.hello = undefined;
    this.firmware = 'idle';
    this.listenMode = undefined;
    await mqtt.closeAudioChannel();
  }

  /** Closes the channel as the firmware does (no goodbye on WebSocket; on MQTT `goodbye`, then the connection). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.turn?.disconnected();
    this.decoder?.close();
    await this.channel?.close();
    this.emit('close', 'closed by the device');
  }

  // ---- internals ------------------------------------------------------------------

  private beginTurn(): XiaozhiSimChannel {
    if (!this.ready || !this.channel) throw new Error('device is not connected');
    if (this.turn) throw new Error('a turn is already in progress');
    return this.channel;
  }

  /** Three 60 ms frames of silence standing in for the wake word (DTX packets, as the firmware's encoder makes them). */
  private sendWakeWordAudio(channel: XiaozhiSimChannel): void {
    const encoder = createOpusEncoder(16000, { bitrate: MIC_OPUS_BITRATE, dtx: true });
    const silence = float32ToInt16(new Float32Array(micFrameSamples(XIAOZHI_MIC_FRAME_MS)));
    for (let i = 0; i < 3; i++) channel.sendAudio(encoder.encode(silence));
    encoder.close();
  }

  private startTurn(kind: 'audio' | 'typed', abortAfterMs: number | undefined): XiaozhiTurn {
    this.aborted = false;
    const turn = new XiaozhiTurn({
      kind,
      timeouts: this.timeouts,
      sampleRate: this.hello!.audio_params.sample_rate,
      abortAfterMs,
      sendAbort: () => void this.abort('button').catch((error: Error) => this.recordIssue('connection', `abort: ${error.message}`)),
      now,
    });
    this.turn = turn;
    return turn;
  }

  private async endTurn(turn: XiaozhiTurn): Promise<TurnResult> {
    const result = await turn.result;
    if (this.turn === turn) this.turn = undefined;
    return result;
  }

  private receiveJson(text: string): void {
    const parsed = parseXiaozhiServerMessage(text);
    if (parsed.kind === 'ignored') return;
    if (parsed.kind === 'invalid') return this.recordIssue('invalid_message', `${parsed.reason}: ${text.slice(0, 200)}`);
    const message = parsed.message;
    const sid = 'session_id' in message ? message.session_id : undefined;
    if (message.type !== 'hello' && this.hello && sid !== undefined && sid !== this.hello.session_id) {
      this.recordIssue('unexpected', `${message.type} with session_id ${sid}, not this session's`);
    }
    switch (message.type) {
      case 'hello':
        this.receiveHello(message);
        break;
      case 'stt':
        this.turn?.stt(message.text);
        break;
      case 'llm':
        this.turn?.emotion(message.emotion);
        break;
      case 'tts':
        this.receiveTts(message);
        break;
      case 'mcp': {
        const response = this.mcp.handle(message.payload);
        if (response) void this.send({ session_id: this.sessionId, type: 'mcp', payload: response }).catch(() => {});
        break;
      }
      case 'error':
        this.recordIssue('gateway_error', `${message.code}: ${message.message}`);
        break;
    }
    this.emit('message', message);
  }

  private receiveHello(hello: XiaozhiServerHello): void {
    if (!this.helloWaiter) return this.recordIssue('unexpected', 'a server hello when none was awaited');
    // ParseServerHello (websocket_protocol.cc, mqtt_protocol.cc): any other transport is ignored (the device would time out).
    const expected = this.channel?.transport === 'mqtt' ? 'udp' : 'websocket';
    if (hello.transport !== expected) return this.recordIssue('unexpected', `server hello with transport ${hello.transport}, expected ${expected}`);
    const { sample_rate, frame_duration } = hello.audio_params;
    if (![8000, 12000, 16000, 24000, 48000].includes(sample_rate)) return this.recordIssue('unexpected', `server hello with sample rate ${sample_rate}`);
    this.hello = hello;
    this.decoder?.close();
    this.decoder = createOpusDecoder(sample_rate);
    if (frame_duration !== XIAOZHI_MIC_FRAME_MS) this.recordIssue('unexpected', `server frame duration ${frame_duration} ms (the issue asks for 60)`);
    const waiter = this.helloWaiter;
    this.helloWaiter = undefined;
    waiter(hello);
  }

  private receiveTts(message: Extract<XiaozhiServerMessage, { type: 'tts' }>): void {
    if (message.state === 'start') {
      if (!this.turn || this.turn.done || this.aborted) this.recordIssue('unexpected', 'tts start with no turn of this device waiting for a reply (after an abort it would flip the device back to speaking)');
      this.firmware = 'speaking';
      this.turn?.ttsStart();
    } else if (message.state === 'sentence_start') {
      this.turn?.sentence(message.text);
    } else {
      if (this.firmware === 'speaking') this.firmware = this.listenMode === 'manual' || this.listenMode === undefined ? 'idle' : 'listening';
      this.turn?.ttsStop();
      // application.cc: back in Listening (auto), the firmware asks to listen again once playback drained.
      if (this.firmware === 'listening' && this.listenMode === 'auto') {
        const drained = Math.max(0, this.playEnd - now());
        setTimeout(() => void this.send({ session_id: this.sessionId, type: 'listen', state: 'start', mode: 'auto' }).catch(() => {}), drained).unref();
      }
    }
  }

  private receiveAudio(payload: Uint8Array): void {
    this.emit('audio', payload);
    if (this.firmware !== 'speaking') {
      // OnIncomingAudio: only decoded in the Speaking state.
      if (this.strayAudio++ === 0) this.recordIssue('unexpected', 'reply audio outside tts start … tts stop (the firmware drops it)');
      return;
    }
    const frameMs = this.hello!.audio_params.frame_duration;
    let samples: Float32Array;
    try {
      samples = int16ToFloat32(this.decoder!.decode(payload));
    } catch (error) {
      return this.recordIssue('invalid_audio', (error as Error).message);
    }
    if (samples.length > (this.hello!.audio_params.sample_rate * frameMs) / 1000) this.recordIssue('unexpected', `a reply frame of ${samples.length} samples is longer than the announced ${frameMs} ms`);
    // The decode queue: playback runs in real time from the first packet; more than 40 waiting are dropped.
    const t = now();
    this.playEnd = Math.max(this.playEnd, t) + frameMs;
    const queued = Math.ceil((this.playEnd - t) / frameMs);
    if (queued > XIAOZHI_DECODE_QUEUE_FRAMES) this.recordIssue('unexpected', `decode queue overflow: ${queued} frames waiting (the firmware holds ${XIAOZHI_DECODE_QUEUE_FRAMES})`);
    this.turn?.audioPacket(samples);
  }

  /** MQTT: the gateway's goodbye (application.cc: the device goes idle; a turn under way is cut off). */
  private audioChannelClosed(reason: string): void {
    if (this.turn && !this.turn.done) this.recordIssue('connection', `audio channel closed during a turn: ${reason}`);
    this.turn?.disconnected();
    this.hello = undefined;
    this.firmware = 'idle';
    this.listenMode = undefined;
    this.emit('goodbye', reason);
  }

  private lost(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.recordIssue('connection', `connection lost: ${reason}`);
    this.turn?.disconnected();
    this.emit('close', reason);
  }

  private recordIssue(kind: ProtocolIssueKind, message: string): void {
    const issue: ProtocolIssue = { kind, message, atMs: now() };
    this.issues.push(issue);
    if (kind === 'gateway_error') this.turn?.gatewayError(issue);
    else this.turn?.addIssue(issue);
    this.emit('issue', issue);
  }
}
