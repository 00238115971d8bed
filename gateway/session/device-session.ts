/**
 * One device's session (docs/protocol.md §3–4): hello first, then turns one at a time. The
 * state machine is idle → listening → thinking → speaking → idle; a `listen start` or
 * `listen detect` while a turn is thinking or speaking is a barge-in (the old turn is
 * aborted first). Bad input gets its protocol error, is logged once, and never throws
 * out of the port methods.
 *
 * Where each control message goes is control-dispatch.ts; turn ids are turn-numbering.ts.
 * When the device did not number a turn, MQTT frames are taken for the listening turn
 * whatever turn their header names (the device may not know the number).
 *
 * Realtime listening (`listen start` mode `realtime`, with a VAD): the microphone stays open;
 * audio no turn takes goes to a SpeechWatcher, and speech starts the next turn, barging in on
 * a reply under way. It lasts until `listen stop` or a `listen start` of another mode.
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
import type { ReplyCodec } from '../audio/reply-codec.ts';
import type { Responder } from '../brain/types.ts';
import type { Logger } from '../logger.ts';
import type { SttProvider, TtsProvider, TurnEndDetectorFactory } from '../speech/types.ts';
import type { TurnRecorder } from '../store/types.ts';
import { announceResult, announcementSentences, type AnnounceResult } from './announcement.ts';
import { dispatchControl, type ControlActions } from './control-dispatch.ts';
import type { DeviceState, SessionEvents, SessionState } from './events.ts';
import type { Limits } from './limits-config.ts';
import type { DeviceLink, DeviceSessionPort, InboundAudio, TransportName } from './link.ts';
import { LogOnce } from './log-once.ts';
import type { PreemptionSettings } from './preemption-config.ts';
import type { PacerClock } from './reply-pacer.ts';
import { SpeechWatcher } from './speech-watcher.ts';
import { Turn, type TurnAbortReason, type TurnDeps, type TurnPhase } from './turn.ts';
import { TurnNumbering } from './turn-numbering.ts';

export interface DeviceSessionDeps {
  stt: SttProvider;
  tts: TtsProvider;
  /** Turns synthesized sentences into device-ready packets (the gateway's codec workers). */
  codec: ReplyCodec;
  responder: Responder;
  recorder: TurnRecorder;
  /**
   * `auto` listen mode's end-of-turn detectors, for recognizers that cannot end turns with
   * their own VAD; without either, `auto` behaves as `manual`.
   */
  turnEnd?: TurnEndDetectorFactory;
  limits: Limits;
  logger: Logger;
  /** Already guarded (see guardEvents). */
  events: Required<SessionEvents>;
  apologyText: string;
  clock?: PacerClock;
  /** Preemptive generation for audio turns; off when absent. */
  preemption?: PreemptionSettings;
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
  /** Keys of the current turn (its audio, its repeated start, a stray stop): reset when a turn starts. */
  private readonly turnOnce = new LogOnce();
  private ready: Ready | undefined;
  private turn: Turn | undefined;
  private readonly turns = new Set<Promise<void>>();
  private deviceState: DeviceState = 'idle';
  private readonly numbering = new TurnNumbering();
  private closed = false;
  private helloTimer: NodeJS.Timeout | undefined;
  /** Present while listening in realtime mode. */
  private watcher: SpeechWatcher | undefined;

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
      dispatchControl(result, { sessionId: this.ready?.sessionId, log: this.log, once: this.once }, this.actions);
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
      if (this.turnOnce.first('internal')) this.log.error({ err }, 'handling audio failed');
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
    const turn = this.startTurn(this.numbering.nextAnnouncement(), false, (options) => Turn.announce(options, sentences));
    return turn.done.then(() => announceResult(turn.outcome));
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
    this.stopRealtime();
    this.turn?.abort(abortReason);
    this.turn = undefined;
    if (this.ready) this.deps.events.deviceDisconnected({ deviceId: this.deviceId, reason });
    this.onClosed(this, reason);
  }

  // ---- control messages -------------------------------------------------------

  private readonly actions: ControlActions = {
    hello: (message) => this.hello(message),
    listenStart: (message) => this.listenStart(message),
    listenStop: (message) => this.listenStop(message.turn, message.frames),
    listenDetect: (message) => void this.startTurn(this.numbering.next(undefined), false, (options) => Turn.text(options, message.text)),
    abort: () => this.turn?.abort('abort'),
    reset: () => this.resetConversation(),
    status: ({ battery, charging, rssi }) => this.deps.events.status({ deviceId: this.deviceId, battery, charging, rssi }),
    button: ({ event }) => this.deps.events.button({ deviceId: this.deviceId, event }),
    ping: ({ id }) => this.send({ type: 'pong', id }),
    goodbye: ({ reason }) => {
      this.log.info({ reason }, 'goodbye');
      this.close(`goodbye${reason ? `: ${reason}` : ''}`, 'goodbye');
    },
    refuse: (code, message) => this.sendError(code, message),
  };

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
    if (!first) {
      // A repeated hello means the device (re)started talking to us: over an external broker
      // the gateway cannot see it reconnect (no will when the broker itself restarted). Its turn
      // in progress is over for it, and it may number its turns from 1 again: those are new turns,
      // not redeliveries of the ones remembered.
      this.turn?.abort('replaced');
      this.numbering.forgetDeviceTurns();
    }
    // A repeated hello keeps the session id; new audio params apply from the next turn.
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

  private resetConversation(): void {
    try {
      this.deps.responder.resetConversation(this.deviceId);
    } catch (err) {
      this.log.error({ err }, 'resetting the conversation failed');
      return this.sendError('internal', 'could not reset the conversation');
    }
    this.log.info('conversation reset');
    this.deps.events.conversationReset({ deviceId: this.deviceId });
  }

  private listenStart(message: ListenStart): void {
    if (message.turn !== undefined && this.numbering.isRepeat(message.turn)) {
      // A device numbers each turn anew: this is a repeated start (QoS 1 redelivery), not a new turn.
      if (this.turnOnce.first(`repeated-start:${message.turn}`)) this.log.info({ turn: message.turn }, 'repeated listen start ignored');
      return;
    }
    if (message.mode === 'realtime' && this.startRealtime()) return;
    this.stopRealtime();
    this.startAudioTurn(message.turn, message.mode !== 'manual');
  }

  private startAudioTurn(deviceTurn: number | undefined, auto: boolean): Turn {
    const ready = this.ready!;
    return this.startTurn(this.numbering.next(deviceTurn), deviceTurn !== undefined, (options) =>
      Turn.audio({
        ...options,
        micFormat: ready.micFormat,
        micFrameMs: ready.micFrameMs,
        partials: ready.partials,
        // Nothing is created here: the listener asks for a detector only if its recognizer cannot end the turn.
        autoEnd: auto ? { detectors: this.deps.turnEnd } : undefined,
      }),
    );
  }

  /** Enters realtime listening (see the top of this file); false without a VAD: the device then listens as in `auto`. */
  private startRealtime(): boolean {
    const factory = this.deps.turnEnd;
    if (!factory?.createSpeechStart) return false;
    const current = this.turn;
    // A listen start interrupts what is under way (docs/protocol.md §3.1), except an utterance realtime listening is already hearing.
    if (current && (current.phase !== 'listening' || !this.watcher)) current.abort(current.phase === 'listening' ? 'restarted' : 'barge_in');
    if (this.watcher) return true;
    const ready = this.ready!;
    let detector;
    try {
      detector = factory.createSpeechStart();
    } catch (err) {
      this.log.error({ err }, 'no speech-start detector; listening as in auto mode');
      return false;
    }
    this.watcher = new SpeechWatcher({
      micFormat: ready.micFormat,
      micFrameMs: ready.micFrameMs,
      detector,
      limits: this.deps.limits,
      logger: this.log,
      onSpeech: (preroll) => {
        // Speech while the gateway thinks or speaks is a barge-in: startTurn aborts that turn.
        const turn = this.startAudioTurn(undefined, true);
        for (const audio of preroll) turn.receiveAudio({ packet: audio.packet });
      },
    });
    this.log.info('realtime listening');
    return true;
  }

  private stopRealtime(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }

  private listenStop(turnId: number | undefined, frames: number | undefined): void {
    this.stopRealtime();
    const turn = this.turn;
    if (!turn || turn.phase !== 'listening' || (turnId !== undefined && turnId !== turn.id)) {
      if (this.turnOnce.first(`stop:${turnId}`)) this.log.info({ turn: turnId }, 'listen stop for no listening turn; ignored');
      return;
    }
    turn.stop(frames);
  }

  /** Aborts the turn in progress (barge-in) and starts turn `turnId` (`deviceNumbered`: the device chose the id). */
  private startTurn(turnId: number, deviceNumbered: boolean, make: (options: Parameters<typeof Turn.text>[0]) => Turn): Turn {
    const previous = this.turn;
    if (previous) previous.abort(previous.phase === 'listening' ? 'restarted' : 'barge_in');
    this.turnOnce.reset();
    const deps: TurnDeps = {
      stt: this.deps.stt,
      tts: this.deps.tts,
      codec: this.deps.codec,
      responder: this.deps.responder,
      recorder: this.deps.recorder,
      limits: this.deps.limits,
      events: this.deps.events,
      apologyText: this.deps.apologyText,
      clock: this.deps.clock,
      preemption: this.deps.preemption,
    };
    const turn = make({
      deviceId: this.deviceId,
      sessionId: this.ready!.sessionId,
      turnId,
      deviceNumbered,
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
    if (this.ready && this.watcher && (!turn || !turn.acceptsAudio)) return this.watcher.receive(audio);
    if (!this.ready || !turn || !turn.acceptsAudio) {
      if (this.turnOnce.first('no-turn')) {
        this.log.info({ turn: audio.turn, state: this.state }, 'audio with no listening turn dropped (logged once)');
      }
      return;
    }
    if (audio.turn !== undefined && turn.deviceNumbered && audio.turn !== turn.id) {
      if (this.turnOnce.first(`other-turn:${audio.turn}`)) {
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
