/**
 * One simulated wearable of the soak (device-sim's SimDevice): turn after turn until stopped —
 * held-button audio, VAD-ended audio, typed text, and barge-ins — reconnecting whenever its
 * connection is lost. After each turn it asks the gateway (SessionWatch) whether its session is
 * `idle` again, and after a drop whether the session is gone; one that is not within the grace
 * is reported stuck. The fault injector can arm a drop: the connection is then cut abruptly at
 * the next reply audio packet (mid-reply).
 */
import { SimDevice, type SimTimeouts, type SimTransport, type TurnResult } from '../../device-sim/index.ts';
import type { DeviceCredentials } from '../../device-sim/load-credentials.ts';
import type { LoadRecording } from '../../device-sim/load-recordings.ts';
import { seededRandom } from '../../device-sim/load.ts';
import { isIdle, isOffline, type SessionWatch } from './session-watch.ts';

export type SoakTurnKind = 'audio' | 'audio-vad' | 'typed' | 'barge-in';

export interface SoakTurn {
  device: string;
  transport: SimTransport;
  kind: SoakTurnKind;
  /** See classifyTurn. */
  outcome: string;
  /** ms since the phase started. */
  endedAtMs: number;
  totalMs: number;
}

export interface StuckEvent {
  device: string;
  transport: SimTransport;
  atMs: number;
  what: string;
  /** The device's last turns (kind, outcome, when it ended), when the soak has them. */
  recentTurns?: string[];
  /** The gateway's last log lines about the device, when the soak has them. */
  gatewayLog?: string[];
}

export interface SoakDeviceOptions {
  credentials: DeviceCredentials;
  transport: SimTransport;
  url: string;
  prefix: string;
  recordings: readonly LoadRecording[];
  /** Index of the device (which recording it starts with) and its random seed. */
  index: number;
  seed: number;
  watch: SessionWatch;
  /** How long after a turn the session may take to be idle again (or gone after a drop). */
  graceMs: number;
  /** The simulator's own limits (default: device-sim's). */
  timeouts?: Partial<SimTimeouts>;
  /** ms since the phase started. */
  clock(): number;
  /** Whether the broker was restarted since `sinceMs` (a lost MQTT connection is then expected). */
  brokerRestartedSince(sinceMs: number): boolean;
  onTurn(turn: SoakTurn): void;
  onStuck(event: StuckEvent): void;
}

/** Texts of typed turns (`listen detect`). */
const TYPED_TEXTS = ['what time is it', 'turn on the kitchen light', 'tell me something nice', 'how warm is it outside'];
/** A person waits this long between turns. */
const PAUSE_MS: readonly [number, number] = [300, 1_500];
/** Reconnect attempts after a lost connection: every second, reported stuck after a minute. */
const RECONNECT_EVERY_MS = 1_000;
const RECONNECT_LIMIT_MS = 60_000;
/** The end-of-phase probe gives a device this long to connect. */
const PROBE_CONNECT_LIMIT_MS = 30_000;
/** Barge-in: the button is pressed again this long after the reply starts. */
const BARGE_IN_AFTER_MS = 300;

/**
 * The turn as the device saw it: `completed`; `aborted by barge-in`; `error <codes>` (the
 * gateway's error messages); `dropped mid-reply (injected)`; `disconnected (broker restart)`;
 * `disconnected`; `no reply` (empty transcript); `timeout` (the gateway went quiet);
 * `<reason> with issues` when other protocol issues came with it.
 */
export function classifyTurn(result: TurnResult, dropped: boolean, brokerRestarted: boolean): string {
  if (dropped) return 'dropped mid-reply (injected)';
  const codes = [...new Set(result.errors.filter((e) => e.kind === 'gateway_error').map((e) => e.code ?? 'unknown'))];
  const others = result.errors.filter((e) => e.kind !== 'gateway_error' && e.kind !== 'timeout' && e.kind !== 'connection');
  const suffix = others.length > 0 ? ` with issues (${[...new Set(others.map((e) => e.kind))].join(', ')})` : '';
  if (result.stopReason === 'disconnected') return brokerRestarted ? 'disconnected (broker restart)' : `disconnected${suffix}`;
  if (codes.length > 0) return `error ${codes.join('+')}${suffix}`;
  if (result.stopReason === 'done') return `completed${suffix}`;
  if (result.stopReason === 'aborted' && result.abortSent) return `aborted by barge-in${suffix}`;
  if (result.stopReason === 'no_reply') return `no reply${suffix}`;
  return `${result.stopReason}${suffix}`;
}

export class SoakDevice {
  readonly id: string;
  readonly transport: SimTransport;
  /** Armed drops that cut a reply (the fault took effect). */
  dropsDone = 0;
  private dropArmed = false;
  private device: SimDevice | undefined;
  private readonly random: () => number;
  private turnNumber = 0;

  constructor(private readonly options: SoakDeviceOptions) {
    this.id = options.credentials.id;
    this.transport = options.transport;
    this.random = seededRandom(options.seed);
  }

  /** The next reply audio packet this device receives cuts its connection. */
  armDrop(): void {
    this.dropArmed = true;
  }

  get dropPending(): boolean {
    return this.dropArmed;
  }

  /** Turns until `signal` aborts (the turn in progress finishes first). */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const device = await this.connected(signal);
      if (!device) return;
      const kind = this.pickKind();
      const startedAt = this.options.clock();
      let dropped = false;
      const onAudio = () => {
        if (!this.dropArmed) return;
        this.dropArmed = false;
        dropped = true;
        this.dropsDone += 1;
        device.drop();
      };
      device.on('audio', onAudio);
      let result: TurnResult;
      try {
        result = await this.talk(device, kind);
      } catch (error) {
        // The connection went between the check and the turn: the next round reconnects.
        if (device.ready) throw error;
        continue;
      } finally {
        device.off('audio', onAudio);
      }
      const endedAt = this.options.clock();
      const outcome = classifyTurn(result, dropped, this.options.brokerRestartedSince(startedAt));
      this.options.onTurn({ device: this.id, transport: this.transport, kind, outcome, endedAtMs: Math.round(endedAt), totalMs: Math.round(result.timings.totalMs) });
      if (result.stopReason === 'timeout') {
        // The simulator waits long (30 s for a transcript or a reply): the gateway left the turn unanswered.
        const why = result.errors.find((e) => e.kind === 'timeout')?.message ?? 'the gateway went quiet';
        this.stuck(`its ${kind} turn went unanswered (${why})`);
      }
      if (dropped) await this.expectSession(isOffline, 'its session was not closed after the device dropped mid-reply');
      else if (device.ready) await this.expectSession(isIdle, `its session was not idle after a turn that ended ${outcome}`, device);
      await sleep(PAUSE_MS[0] + this.random() * (PAUSE_MS[1] - PAUSE_MS[0]), signal);
    }
  }

  /** One typed turn that must complete cleanly: returns why it did not, or undefined. */
  async probe(): Promise<string | undefined> {
    const device = await this.connected(new AbortController().signal, PROBE_CONNECT_LIMIT_MS);
    if (!device) return `could not connect within ${PROBE_CONNECT_LIMIT_MS} ms`;
    const result = await device.typed('are you still there');
    if (result.stopReason !== 'done' || result.errors.length > 0) {
      return `its last turn ended ${classifyTurn(result, false, false)}${result.errors.length ? `: ${result.errors.map((e) => e.message).join('; ')}` : ''}`;
    }
    const idle = await this.options.watch.waitFor(this.id, isIdle, performance.now(), this.options.graceMs);
    return idle ? undefined : `its session was ${this.options.watch.latest(this.id)?.state ?? 'offline'} after the probe turn`;
  }

  /** Says goodbye and closes. */
  async close(): Promise<void> {
    await this.device?.close('soak finished');
  }

  private pickKind(): SoakTurnKind {
    const r = this.random();
    return r < 0.45 ? 'audio' : r < 0.6 ? 'audio-vad' : r < 0.85 ? 'typed' : 'barge-in';
  }

  private talk(device: SimDevice, kind: SoakTurnKind): Promise<TurnResult> {
    const { recordings, index } = this.options;
    const recording = recordings[(index + this.turnNumber++) % recordings.length]!;
    switch (kind) {
      case 'typed':
        return device.typed(TYPED_TEXTS[this.turnNumber % TYPED_TEXTS.length]!);
      case 'audio-vad':
        return device.talk(recording.mic, { mode: 'auto' });
      case 'barge-in':
        return device.talk(recording.mic, { abortAfterMs: BARGE_IN_AFTER_MS });
      default:
        return device.talk(recording.mic);
    }
  }

  /** Waits for the gateway to show the session as `match`es; stuck if it does not (unless `connection` was lost meanwhile). */
  private async expectSession(match: typeof isIdle, problem: string, connection?: SimDevice): Promise<void> {
    const view = await this.options.watch.waitFor(this.id, match, performance.now(), this.options.graceMs);
    if (view) return;
    // The connection went while we waited (a broker restart: Mosquitto sends the wills as it stops), so the session went too.
    if (connection && !connection.ready) return;
    const latest = this.options.watch.latest(this.id);
    this.stuck(`${problem} within ${this.options.graceMs} ms (gateway says: ${latest ? (latest.online ? latest.state : 'offline') : 'nothing'})`);
  }

  private stuck(what: string): void {
    this.options.onStuck({ device: this.id, transport: this.transport, atMs: Math.round(this.options.clock()), what });
  }

  /**
   * A connected device: the current one, or a new connection, retried every second — until
   * `giveUpAfterMs` (then undefined), else for ever, reported stuck once past RECONNECT_LIMIT_MS.
   */
  private async connected(signal: AbortSignal, giveUpAfterMs?: number): Promise<SimDevice | undefined> {
    if (this.device?.ready) return this.device;
    const started = performance.now();
    let reported = false;
    let lastError = '';
    while (!signal.aborted) {
      const device = new SimDevice({
        transport: this.transport,
        url: this.options.url,
        deviceId: this.id,
        token: this.options.credentials.token,
        prefix: this.options.prefix,
        timeouts: this.options.timeouts,
      });
      try {
        await device.connect();
        this.device = device;
        return device;
      } catch (error) {
        lastError = (error as Error).message;
      }
      const waited = performance.now() - started;
      if (giveUpAfterMs !== undefined && waited > giveUpAfterMs) return undefined;
      if (giveUpAfterMs === undefined && !reported && waited > RECONNECT_LIMIT_MS) {
        reported = true;
        this.stuck(`could not reconnect within ${RECONNECT_LIMIT_MS} ms: ${lastError}`);
      }
      await sleep(RECONNECT_EVERY_MS, signal);
    }
    return undefined;
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
