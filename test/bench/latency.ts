/**
 * The latency budget: a few devices (light load) talk real recordings through the gateway;
 * each turn is joined from three clocks — the device's (release → final, → first audio),
 * the gateway's TurnTimings (release → final → first token → first sentence → first audio)
 * and the engine timer's (what STT, LLM and TTS themselves took) — and the gateway's own
 * overhead is what remains:
 *   overhead = device(release → first reply audio)
 *              − STT flush (finish() → final text)
 *              − LLM (reply() called → first complete sentence: prompt, groq-sdk, TTFT, tokens)
 *              − TTS (the first sentence's synthesis)
 * i.e. both network hops, waiting for the last microphone frames, decoding, bookkeeping,
 * resampling and encoding the first packet, pacing and event-loop queueing.
 * Then the same turns (same audio, same engine objects) go through the non-streaming baseline.
 */
import type { LoadRecording } from '../../device-sim/load-recordings.ts';
import type { LoadTurn } from '../../device-sim/load-report.ts';
import { summarizeLatencies, type LatencySummary } from '../../device-sim/load-summary.ts';
import type { TurnRecord } from '../../gateway/store/types.ts';
import { runBaselineTurn, type BaselineTurn } from './baseline.ts';
import type { BenchGateway } from './bench-gateway.ts';
import type { EngineTurnTimes } from './engine-timing.ts';
import { startLoad } from './load-child.ts';

export interface LatencyOptions {
  transport: 'ws' | 'mqtt';
  codec: 'opus' | 'pcm16';
  frameMs: number;
  devices: number;
  turnsPerDevice: number;
  /** Loaded with this hold (silence before release); passed on to the load child. */
  recordings: readonly LoadRecording[];
  holdMs: number;
  seed: number;
}

/** One turn seen from all three clocks. */
export interface JoinedTurn {
  device: LoadTurn;
  gateway: TurnRecord;
  engines: EngineTurnTimes;
  /** null when a stage is missing. */
  overheadMs: number | null;
}

export interface LatencyStages {
  /** Device clock. */
  releaseToFinal: LatencySummary;
  releaseToFirstAudio: LatencySummary;
  /** Gateway clock. */
  gatewayReleaseToFinal: LatencySummary;
  gatewayReleaseToFirstToken: LatencySummary;
  gatewayFirstTokenToFirstSentence: LatencySummary;
  gatewayFirstSentenceToFirstAudio: LatencySummary;
  gatewayReleaseToFirstAudio: LatencySummary;
  /** Engines. */
  sttFlush: LatencySummary;
  llmFirstToken: LatencySummary;
  llmFirstSentence: LatencySummary;
  ttsFirstSentence: LatencySummary;
  /** Derived. */
  gatewayOverhead: LatencySummary;
}

/** Preemptive generation in the phase (session `speculation` events of its devices). */
export interface PreemptionCounts {
  started: number;
  committed: number;
  discarded: number;
  /** committed ÷ started; null when none started. */
  hitRate: number | null;
  /** Joined turns whose reply was a committed speculation. */
  preemptedTurns: number;
  discardReasons: Record<string, number>;
  /** Preempted turns: how long before release their speculation started (gateway clock). */
  leadMs: LatencySummary;
  /** Release → first reply audio (device clock) of the preempted turns, and of the others. */
  preemptedReleaseToFirstAudio: LatencySummary;
  otherReleaseToFirstAudio: LatencySummary;
}

export interface LatencyResult {
  transport: string;
  codec: string;
  devices: number;
  turns: number;
  completed: number;
  /** Completed turns the gateway's record could be joined to. */
  joined: number;
  failures: string[];
  stages: LatencyStages;
  preemption: PreemptionCounts;
}

export interface BaselineStages {
  releaseToFinal: LatencySummary;
  releaseToAnswer: LatencySummary;
  releaseToSynthesized: LatencySummary;
  releaseToFirstAudio: LatencySummary;
  transcribe: LatencySummary;
  llmAnswer: LatencySummary;
  tts: LatencySummary;
}

export interface BaselineResult {
  turns: number;
  stages: BaselineStages;
  /** Baseline release → first audio ÷ voxgate's (device clock), at each percentile and per turn. */
  ratio: { p50: number | null; p95: number | null; p99: number | null; perTurnMedian: number | null };
}

/** What a turn may take beyond its recording (reply, pauses); the load child's own limit. */
const TURN_BUDGET_MS = 60_000;
/** After the devices are done the last turn records arrive at once; wait at most this long for them. */
const RECORD_WAIT_MS = 5_000;

const key = (deviceId: string, turn: number | null) => `${deviceId}#${turn}`;

/**
 * Null when a stage is missing. For a preempted turn (`speculationLeadMs`: its speculation
 * started that long before release) the LLM and the first synthesis ran from the speculation's
 * start, so only what was left of them at release is taken out: max(0, llmFirstSentence +
 * ttsFirstSentence − lead).
 */
export function overheadOf(device: LoadTurn, engines: EngineTurnTimes, speculationLeadMs?: number): number | null {
  const total = device.timings.releaseToFirstAudioMs;
  const { sttFinishMs, llmFirstSentenceMs, ttsFirstMs } = engines;
  if (total === null || sttFinishMs === undefined || llmFirstSentenceMs === undefined || ttsFirstMs === undefined || ttsFirstMs < 0) return null;
  const engineAfterRelease = llmFirstSentenceMs + ttsFirstMs - (speculationLeadMs ?? 0);
  return total - sttFinishMs - Math.max(0, engineAfterRelease);
}

export async function runLatencyPhase(bench: BenchGateway, options: LatencyOptions): Promise<{ result: LatencyResult; joined: JoinedTurn[] }> {
  const prefix = 'lat-';
  const records = new Map<string, { record: TurnRecord; engines: EngineTurnTimes }>();
  const stopListening = bench.timer.onTurn((record, engines) => {
    if (record.deviceId.startsWith(prefix)) records.set(key(record.deviceId, record.turn), { record, engines });
  });
  const speculations = { started: 0, committed: 0, discarded: 0, discardReasons: {} as Record<string, number> };
  const stopCounting = bench.listen({
    speculation: (e) => {
      if (!e.deviceId.startsWith(prefix)) return;
      speculations[e.event]++;
      if (e.event === 'discarded') speculations.discardReasons[e.reason] = (speculations.discardReasons[e.reason] ?? 0) + 1;
    },
  });
  const longest = Math.max(...options.recordings.map((r) => r.mic.durationMs));
  const maxRunMs = options.turnsPerDevice * (longest + TURN_BUDGET_MS);
  let report;
  try {
    const child = startLoad(
      [
        ...['--transport', options.transport, '--url', bench.url(options.transport)],
        ...['--register', '--data-dir', bench.config.dataDir, '--id-prefix', prefix, '--devices', String(options.devices)],
        ...['--turns', String(options.turnsPerDevice), '--codec', options.codec, '--frame-ms', String(options.frameMs)],
        ...['--start-spread', '3000', '--pause', '300-1500', '--seed', String(options.seed), '--max-run', String(maxRunMs / 1000)],
        ...['--hold-ms', String(options.holdMs)],
        ...options.recordings.flatMap((r) => ['--audio', r.file]),
      ],
      maxRunMs + TURN_BUDGET_MS,
    );
    report = await child.report;
    const deadline = performance.now() + RECORD_WAIT_MS;
    while (report.turns.some((t) => t.ok && !records.has(key(t.device, t.turn))) && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    stopListening();
    stopCounting();
  }

  const joined: JoinedTurn[] = [];
  for (const turn of report.turns) {
    const found = turn.ok ? records.get(key(turn.device, turn.turn)) : undefined;
    if (found) {
      const { preempted, speculationLeadMs } = found.record.timings;
      const overheadMs = overheadOf(turn, found.engines, preempted ? (speculationLeadMs ?? 0) : undefined);
      joined.push({ device: turn, gateway: found.record, engines: found.engines, overheadMs });
    }
  }
  const s = summarizeLatencies;
  const gw = (pick: (t: TurnRecord['timings']) => number | undefined) => s(joined.map((j) => pick(j.gateway.timings)));
  const eng = (pick: (e: EngineTurnTimes) => number | undefined) => s(joined.map((j) => pick(j.engines)));
  const failures = [
    ...report.connect.failures,
    ...report.turns.filter((t) => !t.ok).map((t) => `${t.device} turn ${t.turn}: ${t.stopReason}${t.issues.length ? ` (${t.issues[0]})` : ''}`),
  ];
  return {
    joined,
    result: {
      transport: options.transport,
      codec: options.codec,
      devices: options.devices,
      turns: report.summary.turns,
      completed: report.summary.completed,
      joined: joined.length,
      failures,
      stages: {
        releaseToFinal: s(joined.map((j) => j.device.timings.releaseToFinalMs)),
        releaseToFirstAudio: s(joined.map((j) => j.device.timings.releaseToFirstAudioMs)),
        gatewayReleaseToFinal: gw((t) => t.releaseToFinalMs),
        gatewayReleaseToFirstToken: gw((t) => (t.releaseToFinalMs === undefined || t.finalToFirstTokenMs === undefined ? undefined : t.releaseToFinalMs + t.finalToFirstTokenMs)),
        gatewayFirstTokenToFirstSentence: gw((t) => t.firstTokenToFirstSentenceMs),
        gatewayFirstSentenceToFirstAudio: gw((t) => t.firstSentenceToFirstAudioMs),
        gatewayReleaseToFirstAudio: gw((t) => t.releaseToFirstAudioMs),
        sttFlush: eng((e) => e.sttFinishMs),
        llmFirstToken: eng((e) => e.llmFirstTokenMs),
        llmFirstSentence: eng((e) => e.llmFirstSentenceMs),
        ttsFirstSentence: eng((e) => (e.ttsFirstMs !== undefined && e.ttsFirstMs >= 0 ? e.ttsFirstMs : undefined)),
        gatewayOverhead: s(joined.map((j) => j.overheadMs)),
      },
      preemption: {
        ...speculations,
        hitRate: speculations.started === 0 ? null : Math.round((speculations.committed / speculations.started) * 100) / 100,
        preemptedTurns: joined.filter((j) => j.gateway.timings.preempted === true).length,
        leadMs: s(joined.map((j) => j.gateway.timings.speculationLeadMs)),
        preemptedReleaseToFirstAudio: s(joined.filter((j) => j.gateway.timings.preempted === true).map((j) => j.device.timings.releaseToFirstAudioMs)),
        otherReleaseToFirstAudio: s(joined.filter((j) => j.gateway.timings.preempted !== true).map((j) => j.device.timings.releaseToFirstAudioMs)),
      },
    },
  };
}

/** The same turns through the non-streaming pipeline, one at a time, with the gateway's raw engines. */
export async function runBaselinePhase(
  bench: BenchGateway,
  joined: readonly JoinedTurn[],
  recordings: readonly LoadRecording[],
  voxgateFirstAudio: LatencySummary,
): Promise<BaselineResult> {
  const byName = new Map(recordings.map((r) => [r.name, r]));
  const engines = { stt: bench.engines.stt, tts: bench.engines.tts, responder: bench.responder };
  const turns: BaselineTurn[] = [];
  const ratios: number[] = [];
  for (const turn of joined) {
    const recording = byName.get(turn.device.recording);
    if (!recording) continue;
    const baseline = await runBaselineTurn(engines, {
      deviceId: turn.device.device,
      codec: recording.mic.codec,
      frameMs: recording.mic.frameMs,
      packets: recording.mic.packets,
    });
    turns.push(baseline);
    const streaming = turn.device.timings.releaseToFirstAudioMs;
    if (streaming) ratios.push(baseline.releaseToFirstAudioMs / streaming);
  }
  const s = (pick: (t: BaselineTurn) => number) => summarizeLatencies(turns.map(pick));
  const stages: BaselineStages = {
    releaseToFinal: s((t) => t.releaseToFinalMs),
    releaseToAnswer: s((t) => t.releaseToAnswerMs),
    releaseToSynthesized: s((t) => t.releaseToSynthesizedMs),
    releaseToFirstAudio: s((t) => t.releaseToFirstAudioMs),
    transcribe: s((t) => t.transcribeMs),
    llmAnswer: s((t) => t.llmAnswerMs),
    tts: s((t) => t.ttsMs),
  };
  const ratio = (p: 'p50' | 'p95' | 'p99') => {
    const a = stages.releaseToFirstAudio[p];
    const b = voxgateFirstAudio[p];
    return a === null || b === null || b === 0 ? null : Math.round((a / b) * 100) / 100;
  };
  const sorted = [...ratios].sort((a, b) => a - b);
  const middle = sorted.length / 2;
  const median =
    sorted.length === 0 ? null : Math.round(((sorted[Math.ceil(middle) - 1]! + sorted[Math.floor(middle)]!) / 2) * 100) / 100;
  return { turns: turns.length, stages, ratio: { p50: ratio('p50'), p95: ratio('p95'), p99: ratio('p99'), perTurnMedian: median } };
}
