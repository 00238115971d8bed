/**
 * The load generator: N simulated wearables connect (a bounded number at a time), wait a
 * random moment, then hold the button with real recordings streamed at real time, turn after
 * turn with random pauses, for a number of turns or a duration; or, in idle mode, just stay
 * connected. Every turn is recorded from the device's side (timings, partials with their
 * arrival times). Randomness is seeded, so a run can be repeated. Everything is bounded:
 * each turn by the device's own timeouts, the whole run by `maxRunMs`.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { DeviceMessage, GatewayMessage, ReplySampleRate } from '../protocol/index.ts';
import type { EncodedMic, MicCodec } from './audio-encoder.ts';
import type { SimTransport } from './connection.ts';
import type { DeviceCredentials } from './load-credentials.ts';
import type { LoadRecording } from './load-recordings.ts';
import { MAX_REPORTED_FAILURES, summarizeTurns, type LoadReport, type LoadTurn, type TimedPartial } from './load-report.ts';
import { summarizeLatencies } from './load-summary.ts';
import { SimDevice } from './sim-device.ts';
import type { SimTimeouts } from './timeouts.ts';
import type { TurnResult } from './turn-result.ts';

/** Connections opened at once: 2,000 devices connecting in the same instant would measure a stampede, not a steady gateway. */
export const DEFAULT_CONNECT_CONCURRENCY = 50;
/** Devices press their first button at a random moment within this window, so their audio is not in lockstep. */
export const DEFAULT_START_SPREAD_MS = 2_000;
/** Pause between a device's turns (a person listens, then thinks), drawn uniformly from this range. */
export const DEFAULT_PAUSE_MS: readonly [number, number] = [500, 2_000];
/** What one turn may take beyond its recording before the run's overall limit counts it as stuck (the device's own timeouts end it sooner). */
export const TURN_ALLOWANCE_MS = 60_000;

/** What the load needs of a simulated device: a voxgate SimDevice, or another kind (stock xiaozhi firmware). */
export interface LoadDevice {
  readonly deviceId: string;
  readonly ready: boolean;
  connect(): Promise<unknown>;
  talk(audio: EncodedMic): Promise<TurnResult>;
  close(reason?: string): Promise<void>;
}

export interface LoadOptions {
  transport: SimTransport;
  url: string;
  prefix?: string;
  codec: MicCodec;
  frameMs: number;
  replyRate?: ReplySampleRate;
  devices: readonly DeviceCredentials[];
  recordings: readonly LoadRecording[];
  /** `idle`: connect and stay connected until `durationMs` or the signal; no turns. */
  mode: 'talk' | 'idle';
  /** Turns per device (talk mode); unset: as many as fit in `durationMs`. */
  turnsPerDevice?: number;
  /** No turn starts after this (talk mode); how long to stay connected (idle mode). */
  durationMs?: number;
  startSpreadMs?: number;
  pauseMs?: readonly [number, number];
  seed?: number;
  connectConcurrency?: number;
  timeouts?: Partial<SimTimeouts>;
  /** Hard limit for the whole run; past it every device is closed (turns in flight end as `disconnected`). */
  maxRunMs?: number;
  /** Stops the run early (the CLI's Ctrl-C): devices close, the report covers what happened. */
  signal?: AbortSignal;
  /** Progress for a person (connections, turns); never required. */
  onProgress?: (event: LoadProgress) => void;
  /** Makes device `index` instead of a SimDevice of `transport`/`url` (e.g. a simulated xiaozhi device). */
  createDevice?: (credentials: DeviceCredentials, index: number) => LoadDevice;
}

export type LoadProgress =
  | { type: 'connected'; connected: number; failed: number; requested: number }
  | { type: 'turn'; turn: LoadTurn; done: number };

/** monitorEventLoopDelay's sampling interval; its samples include it, so it is subtracted. */
const LOOP_LAG_RESOLUTION_MS = 10;

/** A small seeded PRNG (mulberry32): same seed, same start times, pauses and recordings. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Resolves after `ms` (Infinity: never), or at once when the signal aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted || ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = Number.isFinite(ms) ? setTimeout(done, ms) : undefined;
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Lets at most `limit` tasks run at once. */
function limiter(limit: number): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: Array<() => void> = [];
  return async (task) => {
    if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    running += 1;
    try {
      return await task();
    } finally {
      running -= 1;
      waiting.shift()?.();
    }
  };
}

/** The overall limit when none is given: the longest a run of these options can legitimately take. */
export function defaultMaxRunMs(options: Pick<LoadOptions, 'mode' | 'turnsPerDevice' | 'durationMs' | 'startSpreadMs' | 'pauseMs' | 'recordings'>): number {
  const spread = options.startSpreadMs ?? DEFAULT_START_SPREAD_MS;
  if (options.mode === 'idle') return spread + (options.durationMs ?? 0) + TURN_ALLOWANCE_MS;
  const longest = Math.max(...options.recordings.map((r) => r.mic.durationMs));
  const perTurn = longest + TURN_ALLOWANCE_MS + (options.pauseMs ?? DEFAULT_PAUSE_MS)[1];
  const byTurns = options.turnsPerDevice !== undefined ? options.turnsPerDevice * perTurn : Infinity;
  const byDuration = options.durationMs !== undefined ? options.durationMs + perTurn : Infinity;
  return spread + Math.min(byTurns, byDuration);
}

export async function runLoad(options: LoadOptions): Promise<LoadReport> {
  if (options.devices.length === 0) throw new RangeError('no devices to run');
  if (options.mode === 'talk') {
    if (options.recordings.length === 0) throw new RangeError('no recordings to speak');
    if (options.turnsPerDevice === undefined && options.durationMs === undefined) throw new RangeError('give turnsPerDevice or durationMs');
  }
  const random = seededRandom(options.seed ?? 1);
  const spread = options.startSpreadMs ?? DEFAULT_START_SPREAD_MS;
  const [pauseMin, pauseMax] = options.pauseMs ?? DEFAULT_PAUSE_MS;
  const connectSlot = limiter(options.connectConcurrency ?? DEFAULT_CONNECT_CONCURRENCY);
  const startedAt = performance.now();
  const sinceStart = () => performance.now() - startedAt;
  const loopDelay = monitorEventLoopDelay({ resolution: LOOP_LAG_RESOLUTION_MS });
  loopDelay.enable();
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) stop.abort();
  const hardLimit = setTimeout(() => stop.abort(), options.maxRunMs ?? defaultMaxRunMs(options));
  const durationEnd = options.durationMs;
  // Drawn up front, in device order, so that the schedule does not depend on connection timing.
  const plans = options.devices.map((credentials, index) => ({ credentials, index, startDelay: random() * spread, seed: Math.floor(random() * 2 ** 32) }));

  const turns: LoadTurn[] = [];
  const connectMs: number[] = [];
  const failures: string[] = [];
  let connected = 0;
  let failed = 0;
  const progress = () => options.onProgress?.({ type: 'connected', connected, failed, requested: options.devices.length });

  const runDevice = async (plan: (typeof plans)[number]): Promise<void> => {
    const device: LoadDevice = options.createDevice?.(plan.credentials, plan.index) ?? new SimDevice({
      transport: options.transport,
      url: options.url,
      deviceId: plan.credentials.id,
      token: plan.credentials.token,
      prefix: options.prefix,
      codec: options.codec,
      frameMs: options.frameMs,
      replyRate: options.replyRate,
      timeouts: options.timeouts,
    });
    const closeOnStop = () => void device.close('load stopped');
    try {
      const ok = await connectSlot(async () => {
        if (stop.signal.aborted) return false;
        const t = performance.now();
        try {
          await device.connect();
          connectMs.push(performance.now() - t);
          connected += 1;
          return true;
        } catch (error) {
          failed += 1;
          if (failures.length < MAX_REPORTED_FAILURES) failures.push(`${plan.credentials.id}: ${(error as Error).message}`);
          return false;
        } finally {
          progress();
        }
      });
      if (!ok) return;
      stop.signal.addEventListener('abort', closeOnStop, { once: true });
      if (options.mode === 'idle') {
        await pause(options.durationMs ?? Infinity, stop.signal);
        return;
      }
      await pause(plan.startDelay, stop.signal);
      const deviceRandom = seededRandom(plan.seed);
      for (let n = 0; options.turnsPerDevice === undefined || n < options.turnsPerDevice; n++) {
        if (stop.signal.aborted || !device.ready) break;
        if (durationEnd !== undefined && sinceStart() >= durationEnd) break;
        const recording = options.recordings[(plan.index + n) % options.recordings.length]!;
        turns.push(await talkOnce(device, recording, sinceStart));
        options.onProgress?.({ type: 'turn', turn: turns[turns.length - 1]!, done: turns.length });
        await pause(pauseMin + deviceRandom() * (pauseMax - pauseMin), stop.signal);
      }
    } finally {
      stop.signal.removeEventListener('abort', closeOnStop);
      await device.close('load finished');
    }
  };

  try {
    await Promise.all(plans.map(runDevice));
  } finally {
    clearTimeout(hardLimit);
    loopDelay.disable();
    options.signal?.removeEventListener('abort', onAbort);
  }
  const lagMs = (read: () => number) => (loopDelay.count === 0 ? 0 : Math.round(Math.max(0, read() / 1e6 - LOOP_LAG_RESOLUTION_MS) * 10) / 10);
  return {
    transport: options.transport,
    codec: options.codec,
    frameMs: options.frameMs,
    mode: options.mode,
    durationMs: Math.round(sinceStart()),
    generatorLoopLag: { p99Ms: lagMs(() => loopDelay.percentile(99)), maxMs: lagMs(() => loopDelay.max) },
    connect: { requested: options.devices.length, connected, failed, connectMs: summarizeLatencies(connectMs), failures },
    summary: summarizeTurns(turns),
    turns,
  };
}

/** One push-to-talk turn with the partials' arrival times (relative to the first mic frame's capture start). */
async function talkOnce(device: LoadDevice, recording: LoadRecording, sinceStart: () => number): Promise<LoadTurn> {
  const pressedAtMs = sinceStart();
  if (!(device instanceof SimDevice)) return loadTurn(device, recording, pressedAtMs, [], await device.talk(recording.mic));
  const partials: TimedPartial[] = [];
  let turnId: number | undefined;
  let streamStart: number | undefined;
  const onSent = (message: DeviceMessage) => {
    if (message.type === 'listen' && message.state === 'start') {
      turnId = message.turn;
      // talk() starts pacing right after `listen start` is sent: frame i is due at start + (i + 1) × frame.
      streamStart = performance.now();
    }
  };
  const onMessage = (message: GatewayMessage) => {
    if (message.type !== 'stt' || message.final || streamStart === undefined || message.turn !== turnId) return;
    partials.push({ atMs: Math.round((performance.now() - streamStart) * 10) / 10, text: message.text });
  };
  device.on('sent', onSent);
  device.on('message', onMessage);
  let result: TurnResult;
  try {
    result = await device.talk(recording.mic);
  } finally {
    device.off('sent', onSent);
    device.off('message', onMessage);
  }
  return loadTurn(device, recording, pressedAtMs, partials, result);
}

function loadTurn(device: LoadDevice, recording: LoadRecording, pressedAtMs: number, partials: TimedPartial[], result: TurnResult): LoadTurn {
  return {
    device: device.deviceId,
    recording: recording.name,
    turn: result.turn,
    pressedAtMs: Math.round(pressedAtMs),
    stopReason: result.stopReason,
    ok: result.stopReason === 'done' && result.errors.length === 0,
    final: result.final,
    partials,
    sentences: result.sentences.length,
    micFrames: result.micFrames,
    replyPackets: result.replyAudio.packets,
    replyAudioMs: Math.round((result.replyAudio.samples.length * 1000) / result.replyAudio.sampleRate),
    timings: result.timings,
    issues: result.errors.map((issue) => `${issue.kind}: ${issue.message}`),
  };
}
