/**
 * The soak's verdict and report: turns by outcome (device's view and gateway's count), faults
 * injected and taken effect, the gateway's memory after GC at the start and end of the judged
 * window with its least-squares slope, open handles, event-loop lag, and every device that got
 * stuck. A phase fails when a device got stuck, the memory slope passed its bound, the gateway
 * crashed or would not stop, or the soak could not watch it.
 */
import type { SimTransport } from '../../device-sim/index.ts';
import { FAULT_DESCRIPTIONS, type FaultCounts, type FaultKind } from './faults.ts';
import type { GatewayLog } from './gateway-child.ts';
import { slopePerMinute, type MetricsSample } from './gateway-metrics.ts';
import type { MalformedRound } from './malformed-frames.ts';
import { STUCK_GRACE_MS } from './session-watch.ts';
import type { SoakTurn, StuckEvent } from './soak-device.ts';
import type { BrokerMode } from './soak-world.ts';

export interface MemoryBounds {
  /** Largest allowed slope of the heap after GC, MB per minute. */
  heapMbPerMin: number;
  /** Largest allowed slope of the resident set after GC, MB per minute. */
  rssMbPerMin: number;
  /** A window after warm-up shorter than this says nothing about the heap's slope: it is then reported, not judged. */
  minJudgedMs: number;
  /** The same for RSS, which moves in steps of ~20 MB (malloc arenas, worker heaps): only a long window tells a step from a leak. */
  minRssJudgedMs: number;
}

/**
 * 1 MB/min of live heap is 1.4 GB a day: a leak, where a gateway in steady state stays flat
 * (measured: ±0.25 MB/min). RSS also carries native memory (engines, codecs, worker threads)
 * and allocator steps, so it gets more, and only over 10 minutes.
 */
export const DEFAULT_BOUNDS: MemoryBounds = { heapMbPerMin: 1, rssMbPerMin: 3, minJudgedMs: 120_000, minRssJudgedMs: 600_000 };

export interface PhaseInput {
  broker: BrokerMode;
  durationMs: number;
  loopMs: number;
  warmUpMs: number;
  devices: Record<SimTransport, number>;
  setup: { stt: string; sttReal: boolean; vad: string; tts: string };
  turns: SoakTurn[];
  faults: FaultCounts;
  malformedRounds: MalformedRound[];
  samples: MetricsSample[];
  noDevicesBefore: MetricsSample | undefined;
  loopEndSample: MetricsSample | undefined;
  noDevicesAfter: MetricsSample | undefined;
  stuck: StuckEvent[];
  bounds: MemoryBounds;
  gatewayLog: GatewayLog;
  gatewayStop: { ms: number; killed: boolean };
  stopReason: string | undefined;
  problems: string[];
}

export interface MemoryPoint {
  atS: number;
  rssMb: number;
  heapUsedMb: number;
  handles: number;
}

export interface PhaseResult {
  broker: BrokerMode;
  durationS: number;
  loopS: number;
  devices: Record<SimTransport, number>;
  setup: PhaseInput['setup'];
  turns: {
    total: number;
    completed: number;
    failed: number;
    byOutcome: Record<string, number>;
    byTransport: Record<string, { turns: number; completed: number }>;
  };
  gateway: {
    /** voxgate_turns_total by outcome over the phase (probe turns included). */
    turnsByOutcome: Record<string, number>;
    /** voxgate_errors_total{source="device"} by code over the phase. */
    errorsByCode: Record<string, number>;
    log: { byLevel: Record<string, number>; messages: Record<string, number> };
    stopMs: number;
    stopKilled: boolean;
  };
  faults: Record<string, { injected: number; hit: number; what: string }>;
  malformed: { rounds: number; framesSent: number; answered: Record<string, number> };
  memory: {
    warmUpS: number;
    start: MemoryPoint | null;
    end: MemoryPoint | null;
    rssSlopeMbPerMin: number | null;
    heapSlopeMbPerMin: number | null;
    samples: number;
    heapJudged: boolean;
    rssJudged: boolean;
    note: string | null;
    /** After the drain: every device connected and idle, no turn in flight. */
    afterDrain: MemoryPoint | null;
    bounds: MemoryBounds;
  };
  /** With no device connected: right after start, and after every device said goodbye. */
  noDevices: { before: MemoryPoint | null; after: MemoryPoint | null };
  handles: { max: number | null };
  /** Gateway event-loop lag, per sampling window, beyond prom-client's 10 ms interval. */
  loopLag: { windows: number; p99MedianMs: number | null; p99WorstMs: number | null; maxMs: number | null };
  stuck: StuckEvent[];
  problems: string[];
  /** Why the phase failed; empty when it passed. */
  failures: string[];
  samples: MetricsSample[];
}

const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;
const point = (s: MetricsSample | undefined): MemoryPoint | null =>
  s ? { atS: round(s.atMs / 1000, 1), rssMb: s.rssMb, heapUsedMb: s.heapUsedMb, handles: s.handles } : null;
const count = <T>(items: readonly T[], key: (item: T) => string) => {
  const out: Record<string, number> = {};
  for (const item of items) out[key(item)] = (out[key(item)] ?? 0) + 1;
  return out;
};
const diff = (to: Record<string, number>, from: Record<string, number>) => {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(to)) if (value - (from[key] ?? 0) !== 0) out[key] = value - (from[key] ?? 0);
  return out;
};
const median = (values: number[]) => {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
};

export function judgePhase(input: PhaseInput): PhaseResult {
  // The devices' turns in flight hold memory too: the window is the loop's, the drain is reported apart.
  const judgedSamples = input.samples.filter((s) => s.atMs >= input.warmUpMs && s.atMs <= input.loopMs);
  const windowMs = judgedSamples.length > 1 ? judgedSamples[judgedSamples.length - 1]!.atMs - judgedSamples[0]!.atMs : 0;
  const rssSlope = judgedSamples.length > 1 ? round(slopePerMinute(judgedSamples.map((s) => ({ atMs: s.atMs, value: s.rssMb })))) : null;
  const heapSlope = judgedSamples.length > 1 ? round(slopePerMinute(judgedSamples.map((s) => ({ atMs: s.atMs, value: s.heapUsedMb })))) : null;
  const heapJudged = windowMs >= input.bounds.minJudgedMs && judgedSamples.length >= 5;
  const rssJudged = windowMs >= input.bounds.minRssJudgedMs && judgedSamples.length >= 5;
  const minutes = (ms: number) => round(ms / 60_000, 1);
  const notJudged = [
    ...(heapJudged ? [] : [`heap needs ${minutes(input.bounds.minJudgedMs)} min`]),
    ...(rssJudged ? [] : [`RSS needs ${minutes(input.bounds.minRssJudgedMs)} min`]),
  ];
  const failures: string[] = [];
  if (input.stopReason) failures.push(input.stopReason);
  if (input.stuck.length > 0) {
    const devices = new Set(input.stuck.map((s) => s.device));
    failures.push(`${devices.size} device(s) stuck: ${[...devices].join(', ')}`);
  }
  if (heapJudged && heapSlope! > input.bounds.heapMbPerMin) failures.push(`heap grew ${heapSlope} MB/min after warm-up (bound ${input.bounds.heapMbPerMin})`);
  if (rssJudged && rssSlope! > input.bounds.rssMbPerMin) failures.push(`RSS grew ${rssSlope} MB/min after warm-up (bound ${input.bounds.rssMbPerMin})`);
  if (input.gatewayStop.killed) failures.push('the gateway did not exit within 10 s of SIGTERM (killed)');
  failures.push(...input.problems);

  const first = input.noDevicesBefore;
  const last = input.noDevicesAfter ?? input.loopEndSample ?? input.samples[input.samples.length - 1];
  const lagSamples = input.samples.filter((s) => s.atMs >= input.warmUpMs);
  const byTransport: PhaseResult['turns']['byTransport'] = {};
  for (const turn of input.turns) {
    const entry = (byTransport[turn.transport] ??= { turns: 0, completed: 0 });
    entry.turns += 1;
    if (turn.outcome === 'completed') entry.completed += 1;
  }
  const completed = input.turns.filter((t) => t.outcome === 'completed').length;
  const answered: Record<string, number> = {};
  for (const r of input.malformedRounds) for (const [code, n] of Object.entries(r.answered)) answered[code] = (answered[code] ?? 0) + n;
  return {
    broker: input.broker,
    durationS: round(input.durationMs / 1000, 1),
    loopS: round(input.loopMs / 1000, 1),
    devices: input.devices,
    setup: input.setup,
    turns: { total: input.turns.length, completed, failed: input.turns.length - completed, byOutcome: count(input.turns, (t) => t.outcome), byTransport },
    gateway: {
      turnsByOutcome: first && last ? diff(last.turns, first.turns) : {},
      errorsByCode: first && last ? diff(last.deviceErrors, first.deviceErrors) : {},
      log: { byLevel: input.gatewayLog.byLevel, messages: input.gatewayLog.messages },
      stopMs: input.gatewayStop.ms,
      stopKilled: input.gatewayStop.killed,
    },
    faults: Object.fromEntries(Object.entries(input.faults).map(([kind, c]) => [kind, { ...c, what: FAULT_DESCRIPTIONS[kind as FaultKind] }])),
    malformed: { rounds: input.malformedRounds.length, framesSent: input.malformedRounds.reduce((n, r) => n + r.sent, 0), answered },
    memory: {
      warmUpS: round(input.warmUpMs / 1000, 1),
      start: point(judgedSamples[0]),
      end: point(judgedSamples[judgedSamples.length - 1]),
      rssSlopeMbPerMin: rssSlope,
      heapSlopeMbPerMin: heapSlope,
      samples: judgedSamples.length,
      heapJudged,
      rssJudged,
      note: notJudged.length === 0 ? null : `not judged over ${minutes(windowMs)} min after warm-up (${judgedSamples.length} samples): ${notJudged.join(', ')} and 5 samples`,
      bounds: input.bounds,
      afterDrain: point(input.loopEndSample),
    },
    noDevices: { before: point(input.noDevicesBefore), after: point(input.noDevicesAfter) },
    handles: { max: input.samples.length ? Math.max(...input.samples.map((s) => s.handles)) : null },
    loopLag: {
      windows: lagSamples.length,
      p99MedianMs: median(lagSamples.map((s) => s.lagP99Ms)),
      p99WorstMs: lagSamples.length ? Math.max(...lagSamples.map((s) => s.lagP99Ms)) : null,
      maxMs: lagSamples.length ? Math.max(...lagSamples.map((s) => s.lagMaxMs)) : null,
    },
    stuck: input.stuck,
    problems: input.problems,
    failures,
    samples: input.samples,
  };
}

export interface SoakResult {
  startedAt: string;
  minutes: number;
  devices: number;
  seed: number;
  machine: { cores: number; node: string; loadAverageAtStart: number[]; loadAverageAtEnd: number[]; loadAverageSamples: number[] };
  phases: PhaseResult[];
  passed: boolean;
  definitions: Record<string, string>;
}

export const DEFINITIONS: Record<string, string> = {
  outcome: "a turn as the device saw it: completed; error <codes> (the gateway's error messages); aborted by barge-in; dropped mid-reply (injected); disconnected (broker restart); no reply (empty transcript); timeout (the gateway went quiet)",
  stuck: `a device whose turn the gateway left unanswered (the simulator gave up waiting), whose session was not idle ${STUCK_GRACE_MS / 1000} s after its turn ended (or still open ${STUCK_GRACE_MS / 1000} s after it dropped or said goodbye), that could not reconnect within 60 s, or that failed the probe turn after the run`,
  memory: "the gateway process's RSS and main-thread V8 heap used, read from its /metrics right after a full GC; the slope is the least-squares fit over the samples from the end of warm-up to the end of the turns, in MB per minute; the heap is judged over 2 min or more, RSS (allocator steps of ~20 MB) over 10 min or more",
  handles: 'nodejs_active_handles_total of the gateway (sockets, servers, timers, child processes)',
  loopLag: "the gateway's nodejs_eventloop_lag_p99_seconds per sampling window, beyond prom-client's 10 ms sampling interval; median and worst window, and the largest single delay",
  loadAverage: 'the machine is shared: other work slows every figure; the 1-minute load average was sampled every 10 s during the run',
};

const mb = (n: number | null | undefined) => (n === null || n === undefined ? '—' : `${n.toFixed(1)} MB`);
const slope = (n: number | null) => (n === null ? '—' : `${n >= 0 ? '+' : ''}${n.toFixed(2)} MB/min`);
const list = (record: Record<string, number>) =>
  Object.entries(record)
    .sort((a, b) => b[1] - a[1])
    .map(([key, n]) => `${n} ${key}`)
    .join(', ') || 'none';

export function formatPhase(p: PhaseResult): string {
  const out: string[] = [];
  const m = p.memory;
  out.push(
    `Phase ${p.broker === 'embedded' ? 'embedded broker' : 'external Mosquitto'} — ${p.loopS} s of turns, ${p.devices.websocket} WebSocket + ${p.devices.mqtt} MQTT devices (+1 malformed-frame device each); STT ${p.setup.stt}${p.setup.sttReal ? '' : ' (fixture)'}, VAD ${p.setup.vad}, TTS ${p.setup.tts}, LLM fake Groq`,
  );
  out.push(`  verdict: ${p.failures.length === 0 ? 'PASS' : `FAIL — ${p.failures.join('; ')}`}`);
  out.push(`  turns (devices' view): ${p.turns.total} — ${p.turns.completed} completed, ${p.turns.failed} not: ${list(Object.fromEntries(Object.entries(p.turns.byOutcome).filter(([k]) => k !== 'completed')))}`);
  out.push(`    by transport: ${Object.entries(p.turns.byTransport).map(([t, c]) => `${t} ${c.completed}/${c.turns} completed`).join(', ')}`);
  out.push(`  turns (gateway's voxgate_turns_total): ${list(p.gateway.turnsByOutcome)}; errors sent to devices: ${list(p.gateway.errorsByCode)}`);
  out.push('  faults injected (took effect):');
  for (const [kind, f] of Object.entries(p.faults)) out.push(`    ${kind.padEnd(28)} ${String(f.injected).padStart(3)} (${f.hit})  ${f.what}`);
  out.push(`    malformed frames: ${p.malformed.framesSent} in ${p.malformed.rounds} rounds; answered ${list(p.malformed.answered)}`);
  out.push(
    `  memory after GC, from the end of warm-up (${m.warmUpS} s) to the end of the turns: RSS ${mb(m.start?.rssMb)} → ${mb(m.end?.rssMb)} (${slope(m.rssSlopeMbPerMin)}, bound ${m.bounds.rssMbPerMin}), heap ${mb(m.start?.heapUsedMb)} → ${mb(m.end?.heapUsedMb)} (${slope(m.heapSlopeMbPerMin)}, bound ${m.bounds.heapMbPerMin}); ${m.samples} samples${m.note ? ` — ${m.note}` : ''}`,
  );
  out.push(`  after the drain (devices connected, idle): RSS ${mb(m.afterDrain?.rssMb)}, heap ${mb(m.afterDrain?.heapUsedMb)}`);
  const nb = p.noDevices.before;
  const na = p.noDevices.after;
  out.push(`  with no device connected: before RSS ${mb(nb?.rssMb)}, heap ${mb(nb?.heapUsedMb)}, ${nb?.handles ?? '—'} handles; after RSS ${mb(na?.rssMb)}, heap ${mb(na?.heapUsedMb)}, ${na?.handles ?? '—'} handles`);
  out.push(`  open handles: ${m.start?.handles ?? '—'} at the start of the judged window, ${m.end?.handles ?? '—'} at its end, ${p.handles.max ?? '—'} at most`);
  const lag = p.loopLag;
  out.push(`  event-loop lag p99: median ${lag.p99MedianMs ?? '—'} ms, worst window ${lag.p99WorstMs ?? '—'} ms (${lag.windows} windows); largest delay ${lag.maxMs ?? '—'} ms`);
  out.push(`  gateway log: ${list(p.gateway.log.byLevel)}; stopped ${p.gateway.stopMs} ms after SIGTERM${p.gateway.stopKilled ? ' (killed)' : ''}`);
  for (const [message, n] of Object.entries(p.gateway.log.messages).sort((a, b) => b[1] - a[1]).slice(0, 8)) out.push(`    ${n} × ${message}`);
  out.push(`  stuck: ${p.stuck.length === 0 ? 'none' : ''}`);
  for (const s of p.stuck.slice(0, 20)) {
    out.push(`    ${s.device} (${s.transport}) at ${(s.atMs / 1000).toFixed(1)} s: ${s.what}`);
    for (const line of s.recentTurns ?? []) out.push(`      device: ${line}`);
    for (const line of s.gatewayLog ?? []) out.push(`      gateway: ${line}`);
  }
  for (const problem of p.problems) out.push(`  problem: ${problem}`);
  return out.join('\n');
}

export function formatSoak(r: SoakResult): string {
  const out: string[] = [];
  const m = r.machine;
  out.push(
    `voxgate soak — ${r.minutes} min, ${r.devices} devices, seed ${r.seed}; ${m.cores} cores, Node ${m.node}; load average ${m.loadAverageAtStart.join(' / ')} at start, ${m.loadAverageAtEnd.join(' / ')} at end (1-min samples: median ${median(m.loadAverageSamples) ?? '—'}, max ${m.loadAverageSamples.length ? Math.max(...m.loadAverageSamples) : '—'})`,
  );
  for (const phase of r.phases) out.push('', formatPhase(phase));
  out.push('', `Result: ${r.passed ? 'PASS' : 'FAIL'}`, '', 'Definitions:');
  for (const [name, text] of Object.entries(r.definitions)) out.push(`  ${name}: ${text}`);
  return `${out.join('\n')}\n`;
}
