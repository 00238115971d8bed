/**
 * What a load run produced, as the devices saw it: one record per turn (device-side timings,
 * partial transcripts with their arrival times) and a summary with percentiles. JSON-ready:
 * no raw audio, no class instances.
 */
import type { MicCodec } from './audio-encoder.ts';
import type { SimTransport } from './connection.ts';
import { formatSummary, summarizeLatencies, type LatencySummary } from './load-summary.ts';
import type { TurnStopReason, TurnTimings } from './turn-result.ts';

/** A partial transcript and when it arrived, in ms since the turn's first microphone frame was due to be captured. */
export interface TimedPartial {
  atMs: number;
  text: string;
}

export interface LoadTurn {
  device: string;
  /** Name of the recording the device spoke (file name without .wav). */
  recording: string;
  /** Protocol turn id (null when none was seen). */
  turn: number | null;
  /** When the button was pressed, ms since the run started. */
  pressedAtMs: number;
  stopReason: TurnStopReason;
  /** Completed with `tts stop` reason `done` and no protocol issue. */
  ok: boolean;
  final: string | null;
  partials: TimedPartial[];
  sentences: number;
  micFrames: number;
  replyPackets: number;
  replyAudioMs: number;
  timings: TurnTimings;
  /** Protocol issues of this turn, as text. */
  issues: string[];
}

export interface LoadConnectStats {
  requested: number;
  connected: number;
  failed: number;
  /** connect() → gateway hello, per connected device. */
  connectMs: LatencySummary;
  /** The first few failure messages (all of them are counted in `failed`). */
  failures: string[];
}

export interface LoadTurnStats {
  turns: number;
  completed: number;
  failed: number;
  /** How the failed turns ended, by stop reason. */
  failedBy: Record<string, number>;
  releaseToFinalMs: LatencySummary;
  releaseToFirstAudioMs: LatencySummary;
  totalMs: LatencySummary;
  partials: number;
}

/** The load generator's own event-loop lag: when it is large, the devices sent late and the figures are pessimistic. */
export interface GeneratorLoopLag {
  p99Ms: number;
  maxMs: number;
}

export interface LoadReport {
  transport: SimTransport;
  codec: MicCodec;
  frameMs: number;
  mode: 'talk' | 'idle';
  /** Wall time of the whole run (connect → last device closed). */
  durationMs: number;
  generatorLoopLag: GeneratorLoopLag;
  connect: LoadConnectStats;
  summary: LoadTurnStats;
  turns: LoadTurn[];
}

/** A generator whose loop lags more than this sends frames late enough to skew the gateway's figures. */
export const GENERATOR_LAG_WARNING_MS = 50;

/** Failure messages kept in full; the rest are only counted. */
export const MAX_REPORTED_FAILURES = 10;

/** Counts and percentiles over the turns (failed turns count, but only reached stages have timings). */
export function summarizeTurns(turns: readonly LoadTurn[]): LoadTurnStats {
  const failedBy: Record<string, number> = {};
  let completed = 0;
  let partials = 0;
  for (const turn of turns) {
    partials += turn.partials.length;
    if (turn.ok) completed += 1;
    else {
      const key = turn.stopReason === 'done' ? 'issues' : turn.stopReason;
      failedBy[key] = (failedBy[key] ?? 0) + 1;
    }
  }
  return {
    turns: turns.length,
    completed,
    failed: turns.length - completed,
    failedBy,
    releaseToFinalMs: summarizeLatencies(turns.map((t) => t.timings.releaseToFinalMs)),
    releaseToFirstAudioMs: summarizeLatencies(turns.map((t) => t.timings.releaseToFirstAudioMs)),
    totalMs: summarizeLatencies(turns.map((t) => t.timings.totalMs)),
    partials,
  };
}

/** Whether the run was clean: every device connected, every turn completed. */
export function loadSucceeded(report: LoadReport): boolean {
  return report.connect.failed === 0 && report.summary.failed === 0;
}

/** The report for a person. */
export function formatLoadReport(report: LoadReport): string {
  const { connect, summary } = report;
  const lines = [
    `load: ${connect.requested} device(s) over ${report.transport} (${report.codec}, ${report.frameMs} ms frames), ${report.mode === 'idle' ? 'idle' : `${summary.turns} turn(s)`} in ${(report.durationMs / 1000).toFixed(1)} s`,
    `connected ${connect.connected}/${connect.requested}; connect → hello ${formatSummary(connect.connectMs)}`,
    `load generator's own event-loop lag: p99 ${report.generatorLoopLag.p99Ms} ms, max ${report.generatorLoopLag.maxMs} ms${report.generatorLoopLag.p99Ms > GENERATOR_LAG_WARNING_MS ? ' — the devices themselves ran late: run fewer per process' : ''}`,
  ];
  for (const failure of connect.failures) lines.push(`  connect failed: ${failure}`);
  if (report.mode === 'talk') {
    const failed = Object.entries(summary.failedBy).map(([why, n]) => `${n} ${why}`);
    lines.push(`turns: ${summary.completed} completed, ${summary.failed} failed${failed.length ? ` (${failed.join(', ')})` : ''}; ${summary.partials} partial transcripts`);
    lines.push(`  release → final transcript   ${formatSummary(summary.releaseToFinalMs)}`);
    lines.push(`  release → first reply audio  ${formatSummary(summary.releaseToFirstAudioMs)}`);
    lines.push(`  press → end of turn          ${formatSummary(summary.totalMs)}`);
    const issues = report.turns.flatMap((t) => t.issues.map((issue) => `${t.device}: ${issue}`));
    for (const issue of issues.slice(0, MAX_REPORTED_FAILURES)) lines.push(`  issue: ${issue}`);
    if (issues.length > MAX_REPORTED_FAILURES) lines.push(`  … and ${issues.length - MAX_REPORTED_FAILURES} more issue(s)`);
  }
  return `${lines.join('\n')}\n`;
}
