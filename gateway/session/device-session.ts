/**
 * One device's session (docs/protocol.md §3–4): hello first, then turns one at a time. The
 * state machine is idle → listening → thinking → speaking → idle; a `listen start` or
 * `listen detect` while a turn is thinking or speaking is a barge-in (the old turn is
 * aborted first). Bad input gets its protocol error, is logged once, and never throws
 * out of the port methods.
 *
 * Turn numbering: a device may number its turns (`listen start.turn`); otherwise the
 * gateway numbers them. When the device did not number a turn, MQTT frames are taken for
 * the listening turn whatever turn their header names (the device may not know the number).
 */
import { randomUUID } from 'node:crypto';
import {
  checkMicParams,
  PROTOCOL_VERSION,
  resolveReplyParams,
  type AudioFormat,
  type DeviceHello,
  type DeviceMessage,
  type ErrorCode,
  type GatewayAudioParams,
  type GatewayMessage,
  type ListenStart,
  type ParseResult,
} from '../../protocol/index.ts';
import { sanitizeForSpeech } from '../brain/sanitize.ts';
import { splitSentences } from '../brain/sentence-splitter.ts';
import type { Responder } from '../brain/types.ts';
import type { Limits } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { SttProvider, TtsProvider, TurnEndDetectorFactory } from '../speech/types.ts';
import type { TurnRecorder } from '../store/types.ts';
import type { DeviceState, SessionEvents, SessionState } from './events.ts';
import type { DeviceLink, DeviceSessionPort, InboundAudio, TransportName } from './link.ts';
import { LogOnce } from './log-once.ts';
import type { PacerClock } from './reply-pacer.ts';
import { Turn, type TurnAbortReason, type TurnDeps, type TurnPhase } from './turn.ts';

/** Largest turn id (uint32); gateway numbering wraps past it. */
const MAX_TURN_ID = 0xffff_ffff;
/** Device turn ids remembered to recognise a repeated `listen start` (MQTT QoS 1 may redeliver). */
const RECENT_TURN_IDS = 16;
/**
 * Announcements are numbered from the top of the uint32 range downwards, so their turn ids
 * never meet a device's own numbering (which counts up from small numbers).
 */
const FIRST_ANNOUNCEMENT_TURN_ID = MAX_TURN_ID;
const LAST_ANNOUNCEMENT_TURN_ID = 0x8000_0000;

/**
 * How an announcement went: `spoken` to the end; `interrupted` by the wearer (barge-in,
 * abort) or the gateway; `failed` (nothing speakable, or TTS failed); `offline` (no session
 * that said hello); `busy` (a turn or another announcement is in progress: try again when idle).
 */
export type AnnounceResult = 'spoken' | 'interrupted' | 'failed' | 'offline' | 'busy';

/** The sentences an announcement speaks: cleaned for the ear and split for pipelined TTS. */
export function announcementSentences(text: string): string[] {
  return text
    .split(/\n+/)
    .flatMap((line) => splitSentences(line))
    .map((sentence) => sanitizeForSpeech(sentence).trim())
    .filter((sentence) => sentence.length > 0);
}

export interface DeviceSessionDeps {
  stt: SttProvider;
  tts: TtsProvider;
  responder: Responder;
  recorder: TurnRecorder;
  /** `auto` listen mode's end-of-turn detector; without one, `auto` behaves as `manual`. */
  turnEnd?: TurnEndDetectorFactory;
  limits: Limits;
  logger: Logger;
  /** Already guarded (see guardEvents). */
  events: Required<SessionEvents>;
  apologyText: string;
  clock?: PacerClock;
}

interface Ready {
  sessionId: string;
  micFormat: AudioFormat;
  micFrameMs: number;
  reply: GatewayAudioParams;
  partials: boolean;
}

export class DeviceSession implements DeviceSessionPort {
  readonly deviceId: string;
  readonly transport: TransportName;
  /** When the connection opened (epoch ms). */
  readonly openedAt = Date.now();
  private readonly log: Logger;
  private readonly once = new LogOnce();
  private readonly audioOnce = new LogOnce();
  private ready: Ready | undefined;
  private turn: Turn | undefined;
  private readonly turns = new Set<Promise<void>>();
  private deviceState: DeviceState = 'idle';
  private nextTurnId = 1;
  private nextAnnouncementId = FIRST_ANNOUNCEMENT_TURN_ID;
  private readonly recentTurnIds: number[] = [];
  private closed = false;
  private helloTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly link: DeviceLink,
    private readonly deps: DeviceSessionDeps,
    private readonly onClosed: (session: DeviceSession, reason: string) => void = () => {},
  ) {
    this.deviceId = link.deviceId;
    this.transport = link.transport;
    this.log = deps.logger.child({ device: link.deviceId });
    this.helloTimer = setTimeout(() => {
      this.log.warn({ timeoutMs: deps.limits.helloTimeoutMs }, 'no hello in time; closing');
      this.close(`no hello within ${deps.limits.helloTimeoutMs} ms`);
    }, deps.limits.helloTimeoutMs);
  }

  get state(): SessionState {
    return this.ready ? this.deviceState : 'awaiting_hello';
  }

  get isClosed(): boolean {
    return this.closed;
  }

  // ---- DeviceSessionPort ----------------------------------------------------

  receiveControl(result: ParseResult<DeviceMessage>): void {
    if (this.closed) return;
    try {
      this.handleControl(result);
    } catch (err) {
      this.log.error({ err }, 'handling a control message failed');
      this.sendError('internal', 'internal gateway error');
    }
  }

  receiveAudio(audio: InboundAudio): void {
    if (this.closed) return;
    try {
      this.handleAudio(audio);
    } catch (err) {
      if (this.audioOnce.first('internal')) this.log.error({ err }, 'handling audio failed');
    }
  }

  disconnected(reason: string): void {
    if (this.closed) return;
    this.log.info({ reason }, 'device disconnected');
    this.teardown('disconnected', reason);
  }

  // ---- gateway side -----------------------------------------------------------

  /** Ends the session from the gateway's side (replaced, shutdown, goodbye, hello timeout). */
  close(reason: string, abortReason: TurnAbortReason = 'shutdown'): void {
    if (this.closed) return;
    this.teardown(abortReason, reason);
    try {
      this.link.close(reason);
    } catch (err) {
      this.log.warn({ err }, 'closing the link failed');
    }
  }

  /**
   * Speaks `text` to the device as a reply-only turn (no listening, not recorded). Resolves
   * when it has ended. Never interrupts the wearer: a turn in progress makes it `busy`.
   */
  announce(text: string): Promise<AnnounceResult> {
    if (this.closed || !this.ready) return Promise.resolve('offline');
    if (this.turn) return Promise.resolve('busy');
    const sentences = announcementSentences(text);
    if (sentences.length === 0) return Promise.resolve('failed');
    const id = this.nextAnnouncementId;
    this.nextAnnouncementId = id <= LAST_ANNOUNCEMENT_TURN_ID ? FIRST_ANNOUNCEMENT_TURN_ID : id - 1;
    const turn = this.startTurn(undefined, (options) => Turn.announce(options, sentences), id);
    return turn.done.then(() => (turn.outcome === 'completed' ? 'spoken' : turn.outcome === 'aborted' ? 'interrupted' : 'failed'));
  }

  /** Stops the reply (or announcement) being prepared or spoken, as a device `abort` would. False when there was none. */
  interrupt(): boolean {
    const turn = this.turn;
    if (this.closed || !turn || turn.phase === 'listening') return false;
    turn.abort('abort');
    return true;
  }

  /** Resolves when every turn of this session has ended and been recorded. */
  async settled(): Promise<void> {
    await Promise.all([...this.turns]);
  }

  private teardown(abortReason: TurnAbortReason, reason: string): void {
    this.closed = true;
    clearTimeout(this.helloTimer);
    this.turn?.abort(abortReason);
    this.turn = undefined;
    if (this.ready) this.deps.events.deviceDisconnected({ deviceId: this.deviceId, reason });
    this.onClosed(this, reason);
  }

  // ---- control messages -------------------------------------------------------

  private handleControl(result: ParseResult<DeviceMessage>): void {
    if (result.kind === 'ignored') {
      if (this.once.first(`ignored:${result.type}`)) this.log.info({ type: result.type }, 'ignoring unknown message type (logged once)');
      return;
    }
    if (result.kind === 'invalid') {
      if (this.once.first(`invalid:${result.reason}`)) this.log.warn({ reason: result.reason }, 'bad message');
      return this.sendError('bad_message', result.reason);
    }
    const message = result.message;
    if (message.type === 'hello') return this.hello(message);
    if (!this.ready) {
      if (this.once.first(`not_ready:${message.type}`)) this.log.warn({ type: message.type }, 'message before hello');
      return this.sendError('not_ready', `"${message.type}" before hello: hello must be the first message`);
    }
    if (message.session_id !== undefined && message.session_id !== this.ready.sessionId) {
      if (this.once.first('session_id')) this.log.warn({ type: message.type }, 'session_id does not match');
      return this.sendError('bad_message', `session_id "${message.session_id}" is not this session's`);
    }
    switch (message.type) {
      case 'listen':
        if (message.state === 'start') return this.listenStart(message);
        if (message.state === 'stop') return this.listenStop(message.turn, message.frames);
        this.startTurn(undefined, (options) => Turn.text(options, message.text));
        return;
      case 'abort':
        return this.turn?.abort('abort');
      case 'reset':
        try {
          this.deps.responder.resetConversation(this.deviceId);
        } catch (err) {
          this.log.error({ err }, 'resetting the conversation failed');
          return this.sendError('internal', 'could not reset the conversation');
        }
        this.log.info('conversation reset');
        return this.deps.events.conversationReset({ deviceId: this.deviceId });
      case 'status': {
        const { battery, charging, rssi } = message;
        return this.deps.events.status({ deviceId: this.deviceId, battery, charging, rssi });
      }
      case 'button':
        return this.deps.events.button({ deviceId: this.deviceId, event: message.event });
      case 'ping':
        return this.send({ type: 'pong', id: message.id });
      case 'goodbye':
        this.log.info({ reason: message.reason }, 'goodbye');
        return this.close(`goodbye${message.reason ? `: ${message.reason}` : ''}`, 'goodbye');
    }
  }

  private hello(message: DeviceHello): void {
    const mic = checkMicParams(message.audio_params);
    const reply = resolveReplyParams(message.audio_params, message.reply_audio);
    const refused = !mic.ok ? mic.reason : !reply.ok ? reply.reason : undefined;
    if (refused !== undefined || !mic.ok || !reply.ok) {
      if (this.once.first(`hello:${refused}`)) this.log.warn({ reason: refused }, 'hello with unsupported audio');
      return this.sendError('unsupported_audio', refused ?? 'unsupported audio');
    }
    const first = !this.ready;
    clearTimeout(this.helloTimer);
    // A repeated hello (e.g. an MQTT redelivery) keeps the session id; new audio params apply from the next turn.
    this.ready = {
      sessionId: this.ready?.sessionId ?? randomUUID(),
      micFormat: mic.value.format,
      micFrameMs: mic.value.frameMs,
      reply: reply.value,
      partials: message.features?.partial_stt !== false,
    };
    this.send({
      type: 'hello',
      transport: this.transport,
      session_id: this.ready.sessionId,
      version: PROTOCOL_VERSION,
      audio_params: this.ready.reply,
    });
    if (first) {
      this.log.info({ mic: message.audio_params, reply: this.ready.reply, version: message.version }, 'hello');
      this.deps.events.deviceConnected({ deviceId: this.deviceId, transport: this.transport, sessionId: this.ready.sessionId });
    }
  }

  private listenStart(message: ListenStart): void {
    if (message.turn !== undefined && this.recentTurnIds.includes(message.turn)) {
      // A device numbers each turn anew: this is a repeated start (QoS 1 redelivery), not a new turn.
      if (this.once.first(`repeated-start:${message.turn}`)) this.log.info({ turn: message.turn }, 'repeated listen start ignored');
      return;
    }
    const ready = this.ready!;
    // `realtime` is reserved (docs/protocol.md §3.1): until it exists it listens like `auto`.
    const auto = message.mode !== 'manual';
    this.startTurn(message.turn, (options) =>
      Turn.audio({
        ...options,
        micFormat: ready.micFormat,
        micFrameMs: ready.micFrameMs,
        partials: ready.partials,
        turnEnd: auto ? this.deps.turnEnd?.create() : undefined,
      }),
    );
  }

  private listenStop(turnId: number | undefined, frames: number | undefined): void {
    const turn = this.turn;
    if (!turn || turn.phase !== 'listening' || (turnId !== undefined && turnId !== turn.id)) {
      if (this.once.first(`stop:${turnId}`)) this.log.info({ turn: turnId }, 'listen stop for no listening turn; ignored');
      return;
    }
    turn.stop(frames);
  }

  /** Aborts the turn in progress (barge-in) and starts a new one (`fixedId`: an announcement's own number). */
  private startTurn(requestedId: number | undefined, make: (options: Parameters<typeof Turn.text>[0]) => Turn, fixedId?: number): Turn {
    const previous = this.turn;
    if (previous) previous.abort(previous.phase === 'listening' ? 'restarted' : 'barge_in');
    let turnId: number;
    if (fixedId !== undefined) {
      turnId = fixedId;
    } else {
      turnId = requestedId ?? this.nextTurnId;
      this.nextTurnId = turnId >= MAX_TURN_ID ? 1 : turnId + 1;
    }
    if (requestedId !== undefined) {
      this.recentTurnIds.push(requestedId);
      if (this.recentTurnIds.length > RECENT_TURN_IDS) this.recentTurnIds.shift();
    }
    this.audioOnce.reset();
    const deps: TurnDeps = {
      stt: this.deps.stt,
      tts: this.deps.tts,
      responder: this.deps.responder,
      recorder: this.deps.recorder,
      limits: this.deps.limits,
      events: this.deps.events,
      apologyText: this.deps.apologyText,
      clock: this.deps.clock,
    };
    const turn = make({
      deviceId: this.deviceId,
      sessionId: this.ready!.sessionId,
      turnId,
      deviceNumbered: requestedId !== undefined,
      link: this.link,
      logger: this.log,
      deps,
      replyParams: this.ready!.reply,
      onPhase: (t, phase) => this.onTurnPhase(t, phase),
    });
    this.turn = turn;
    this.turns.add(turn.done);
    void turn.done.then(() => this.turns.delete(turn.done));
    this.setState(turn.phase === 'listening' ? 'listening' : 'thinking', turn.id);
    return turn;
  }

  private onTurnPhase(turn: Turn, phase: TurnPhase): void {
    if (turn !== this.turn) return; // an aborted turn winding down
    if (phase === 'ended') {
      this.turn = undefined;
      if (!this.closed) this.setState('idle', turn.id);
      return;
    }
    this.setState(phase, turn.id);
  }

  private setState(state: DeviceState, turn?: number): void {
    if (state === this.deviceState) return;
    this.deviceState = state;
    if (!this.closed) this.deps.events.stateChanged({ deviceId: this.deviceId, state, turn });
  }

  // ---- audio --------------------------------------------------------------------

  private handleAudio(audio: InboundAudio): void {
    const turn = this.turn;
    if (!this.ready || !turn || !turn.acceptsAudio) {
      if (this.audioOnce.first('no-turn')) {
        this.log.info({ turn: audio.turn, state: this.state }, 'audio with no listening turn dropped (logged once)');
      }
      return;
    }
    if (audio.turn !== undefined && turn.deviceNumbered && audio.turn !== turn.id) {
      if (this.audioOnce.first(`other-turn:${audio.turn}`)) {
        this.log.info({ frameTurn: audio.turn, listening: turn.id }, 'audio of another turn dropped (logged once)');
      }
      return;
    }
    turn.receiveAudio(audio);
  }

  // ---- sending --------------------------------------------------------------------

  private sendError(code: ErrorCode, message: string): void {
    this.send({ type: 'error', ...(this.ready ? { session_id: this.ready.sessionId } : {}), code, message });
  }

  private send(message: GatewayMessage): void {
    try {
      this.link.send(message);
    } catch (err) {
      if (this.once.first('send')) this.log.warn({ err }, 'sending to the device failed');
    }
  }
}
