/**
 * Scale: N devices talk at once (N = 1, 2, 4, 8, … up to a bound), each holding the button
 * for the same recording, starting within one second of each other; a step holds when
 *   - every device connected and every turn completed,
 *   - partial transcripts stay under `partialLagMs` behind real time (p95 over all partials,
 *     see partial-lag.ts), and
 *   - the gateway's event-loop lag stays under `loopLagMs` (p99 of what monitorEventLoopDelay
 *     sees beyond its 10 ms interval).
 * Stepping stops at the first step that does not hold. The measurement window of a step runs
 * from its first device's `listening` to its last turn's record (talking and being answered);
 * CPU per device = gateway CPU time in the window ÷ window ÷ N; RSS per device = (peak RSS in
 * the window − RSS before the step, after a GC) ÷ N.
 */
import type { LoadRecording } from '../../device-sim/load-recordings.ts';
import { summarizeLatencies, type LatencySummary } from '../../device-sim/load-summary.ts';
import type { BenchGateway } from './bench-gateway.ts';
import { startLoad } from './load-child.ts';
import { measureLoopLag, type LoopLag } from './loop-lag.ts';
import { partialLags, partialReference } from './partial-lag.ts';
import { collectGarbage, coresBusy, cpuMark, MB, sampleRss, type CpuMark } from './process-usage.ts';

export interface ScaleCriteria {
  /** The protocol's promise of live captions (docs/protocol.md §3.2): text trails speech by less than this (p95). */
  partialLagMs: number;
  /** A loop late by more than this delays every device's audio and messages (p99). */
  loopLagMs: number;
}

export const DEFAULT_SCALE_CRITERIA: ScaleCriteria = { partialLagMs: 500, loopLagMs: 50 };

export interface ScaleOptions {
  transport: 'ws' | 'mqtt';
  codec: 'opus' | 'pcm16';
  frameMs: number;
  /** Device counts to try, in order. */
  steps: readonly number[];
  turnsPerDevice: number;
  clip: LoadRecording;
  criteria: ScaleCriteria;
  seed: number;
}

export interface ScaleStep {
  devices: number;
  held: boolean;
  /** Why it did not hold. */
  reasons: string[];
  turns: number;
  completed: number;
  partialLag: LatencySummary;
  unmatchedPartials: number;
  loopLag: LoopLag;
  windowS: number;
  /** Cores busy in the gateway process during the window (1 = one core). */
  cores: number;
  cpuPerDevicePct: number;
  rssBeforeMb: number;
  rssPeakMb: number;
  rssPerDeviceMb: number;
  releaseToFinal: LatencySummary;
  releaseToFirstAudio: LatencySummary;
  /** p99 event-loop lag of the device simulator's process: large means the devices themselves ran late. */
  generatorLagP99Ms: number;
}

export interface ScaleResult {
  criteria: ScaleCriteria;
  clip: { name: string; seconds: number };
  steps: ScaleStep[];
  /** The largest N that held (0 when none did). */
  heldDevices: number;
  /** Why stepping stopped. */
  stoppedBecause: string;
}

/** Devices of a step press within this window: "at once", but not in lockstep. */
const START_SPREAD_MS = 1_000;
/** What a turn may take beyond its recording (reply, waiting); bounds a step. */
const TURN_BUDGET_MS = 60_000;

/** 1, 2, 4, … up to `max` (and `max` itself when it is not a power of two). */
export function doublingSteps(max: number): number[] {
  const steps: number[] = [];
  for (let n = 1; n <= max; n *= 2) steps.push(n);
  if (steps[steps.length - 1] !== max && max >= 1) steps.push(max);
  return steps;
}

export async function runScalePhase(bench: BenchGateway, options: ScaleOptions, log: (line: string) => void): Promise<ScaleResult> {
  const references = new Map([[options.clip.name, await partialReference(bench.engines.stt, options.clip)]]);
  const steps: ScaleStep[] = [];
  let stoppedBecause = `reached the largest step (${options.steps[options.steps.length - 1]} devices)`;
  for (const devices of options.steps) {
    const step = await runStep(bench, options, devices, references);
    steps.push(step);
    log(
      `scale ${devices} device(s): ${step.held ? 'held' : `did not hold (${step.reasons.join('; ')})`} — partial lag p95 ${step.partialLag.p95 ?? '—'} ms, loop lag p99 ${step.loopLag.p99Ms} ms, ${step.cpuPerDevicePct.toFixed(1)} % CPU/device`,
    );
    if (!step.held) {
      stoppedBecause = `${devices} devices did not hold: ${step.reasons.join('; ')}`;
      break;
    }
  }
  const held = steps.filter((s) => s.held).map((s) => s.devices);
  return {
    criteria: options.criteria,
    clip: { name: options.clip.name, seconds: Math.round(options.clip.mic.durationMs / 100) / 10 },
    steps,
    heldDevices: held.length === 0 ? 0 : Math.max(...held),
    stoppedBecause,
  };
}

async function runStep(bench: BenchGateway, options: ScaleOptions, devices: number, references: Map<string, ReadonlyMap<string, number>>): Promise<ScaleStep> {
  const prefix = `scale${devices}-`;
  const expected = devices * options.turnsPerDevice;
  collectGarbage();
  const rssBefore = process.memoryUsage.rss();
  let start: { cpu: CpuMark; lag: ReturnType<typeof measureLoopLag>; rss: ReturnType<typeof sampleRss> } | undefined;
  let end: { cpu: CpuMark; lag: LoopLag; rssPeak: number } | undefined;
  let recorded = 0;
  const closeWindow = () => {
    if (!start || end) return;
    end = { cpu: cpuMark(), lag: start.lag.stop(), rssPeak: start.rss.stop() };
  };
  const stopListening = bench.listen({
    stateChanged: (e) => {
      if (!start && e.state === 'listening' && e.deviceId.startsWith(prefix)) start = { cpu: cpuMark(), lag: measureLoopLag(), rss: sampleRss() };
    },
    turnRecorded: (record) => {
      if (!record.deviceId.startsWith(prefix)) return;
      recorded += 1;
      if (recorded >= expected) closeWindow();
    },
  });
  const maxRunMs = START_SPREAD_MS + options.turnsPerDevice * (options.clip.mic.durationMs + TURN_BUDGET_MS);
  let report;
  try {
    const child = startLoad(
      [
        ...['--transport', options.transport, '--url', bench.url(options.transport)],
        ...['--register', '--data-dir', bench.config.dataDir, '--id-prefix', prefix, '--devices', String(devices)],
        ...['--turns', String(options.turnsPerDevice), '--codec', options.codec, '--frame-ms', String(options.frameMs)],
        ...['--start-spread', String(START_SPREAD_MS), '--pause', '300-1000', '--seed', String(options.seed)],
        ...['--max-run', String(maxRunMs / 1000), '--audio', options.clip.file],
      ],
      maxRunMs + TURN_BUDGET_MS,
    );
    report = await child.report;
  } finally {
    closeWindow(); // a step whose turns did not all complete ends when its devices are gone
    stopListening();
  }

  const reasons: string[] = [];
  if (report.connect.failed > 0) reasons.push(`${report.connect.failed} device(s) could not connect`);
  if (report.summary.failed > 0) reasons.push(`${report.summary.failed} of ${report.summary.turns} turn(s) failed (${Object.entries(report.summary.failedBy).map(([why, n]) => `${n} ${why}`).join(', ')})`);
  const lags = partialLags(report.turns, references);
  const partialLag = summarizeLatencies(lags.lags);
  if (partialLag.count === 0) reasons.push('no partial transcript could be timed');
  else if (partialLag.p95! > options.criteria.partialLagMs) reasons.push(`partials p95 ${partialLag.p95} ms behind real time (limit ${options.criteria.partialLagMs})`);
  const loopLag = end?.lag ?? { count: 0, p50Ms: 0, p99Ms: 0, maxMs: 0 };
  if (!start || !end) reasons.push('no device started talking');
  else if (loopLag.p99Ms > options.criteria.loopLagMs) reasons.push(`event-loop lag p99 ${loopLag.p99Ms} ms (limit ${options.criteria.loopLagMs})`);
  const windowMs = start && end ? end.cpu.at - start.cpu.at : 0;
  const cores = start && end ? coresBusy(start.cpu, end.cpu) : 0;
  const rssPeak = end?.rssPeak ?? rssBefore;
  const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;
  return {
    devices,
    held: reasons.length === 0,
    reasons,
    turns: report.summary.turns,
    completed: report.summary.completed,
    partialLag,
    unmatchedPartials: lags.unmatched,
    loopLag,
    windowS: round(windowMs / 1000),
    cores: round(cores, 2),
    cpuPerDevicePct: round((cores * 100) / devices),
    rssBeforeMb: round(rssBefore / MB),
    rssPeakMb: round(rssPeak / MB),
    rssPerDeviceMb: round(Math.max(0, rssPeak - rssBefore) / MB / devices, 2),
    releaseToFinal: report.summary.releaseToFinalMs,
    releaseToFirstAudio: report.summary.releaseToFirstAudioMs,
    generatorLagP99Ms: report.generatorLoopLag.p99Ms,
  };
}
