/** The benchmark's results: the JSON shape, the definitions it prints, and the table for a person. */
import type { LatencySummary } from '../../device-sim/load-summary.ts';
import type { BenchSetup } from './bench-gateway.ts';
import type { IdleResult } from './idle.ts';
import type { BaselineResult, LatencyResult } from './latency.ts';
import type { ScaleResult } from './scale.ts';

export interface Machine {
  cpu: string;
  cores: number;
  ramGiB: number;
  node: string;
  platform: string;
  /** 1, 5 and 15 minute load averages when the run started (other work on the machine skews figures). */
  loadAverageAtStart: number[];
}

export interface BenchResult {
  startedAt: string;
  durationS: number;
  quick: boolean;
  machine: Machine;
  setup: BenchSetup & { transport: string; codec: string; frameMs: number; holdMs: number };
  /** With preemptive generation (the default configuration). */
  latency: LatencyResult;
  /** The same measurement on a gateway with VOXGATE_PREEMPTIVE=off, in the same run. */
  latencyWithoutPreemption: LatencyResult;
  baseline: BaselineResult;
  scale: ScaleResult | null;
  idle: IdleResult | null;
  definitions: Record<string, string>;
}

export const DEFINITIONS: Record<string, string> = {
  release: "the device's `listen stop` (button released, holdMs after the recording ends); device-clock stages start when the device sends it, gateway-clock stages when the gateway handles it",
  releaseToFinal: 'release → `stt final` received by the device (device clock)',
  gatewayReleaseToFirstToken: 'release → first LLM token, gateway clock (TurnTimings releaseToFinalMs + finalToFirstTokenMs); the device cannot see tokens',
  releaseToFirstAudio: 'release → first reply audio packet received by the device (device clock)',
  sttFlush: "engine: the recognizer's finish() → final text (tail padding decoded)",
  llmFirstToken: 'engine: responder.reply() called → first token (prompt + memory + groq-sdk request + fake server TTFT)',
  llmFirstSentence: 'engine: responder.reply() called → first complete sentence (as llmFirstToken, plus tokens until the sentence ends)',
  ttsFirstSentence: "engine: the first sentence's synthesize() call → its audio",
  gatewayOverhead:
    'device release → first audio − sttFlush − llmFirstSentence − ttsFirstSentence: both network hops, waiting for the last mic frames, decoding, turn bookkeeping, resampling + encoding the first packet, pacing, event-loop queueing; for a preempted turn only what was left of llmFirstSentence + ttsFirstSentence at release is taken out (they ran from when the speculation started, speculationLeadMs before release)',
  preemption:
    'preemptive generation: speculations started (an LLM request each) on a partial transcript stable for stableMs while the speaker was silent; committed = became the reply; discarded = thrown away unheard (extra LLM calls); hitRate = committed ÷ started; preemptedTurns = turns whose reply was a committed speculation',
  latencyWithoutPreemption: 'the same latency phase (same devices, recordings, seed) on a second gateway with VOXGATE_PREEMPTIVE=off, in the same run',
  baseline:
    'non-streaming pipeline on the same engine objects, in-process (no network hops): buffer the mic packets; at release decode them all, feed the recognizer at once, finish; await the whole LLM answer; synthesize it whole; resample and encode the first packet',
  ratio: 'baseline release → first audio ÷ voxgate release → first audio (device clock), at each percentile; perTurnMedian = median of the per-turn ratios',
  partialLag:
    "arrival of a partial at the device (ms after its turn's first frame began) − the audio position where the same recognizer, unloaded, first produced that text",
  loopLag: "p99 of the gateway process's monitorEventLoopDelay beyond its 10 ms interval",
  cpuPerDevice: 'gateway process CPU (all threads + reaped espeak-ng processes) in the step window ÷ window ÷ devices, % of one core',
  rssPerTalkingDevice: "(peak RSS in the step window − RSS before the step, after GC) ÷ devices",
  simLag: "p99 event-loop lag of the device simulator's own process (it shares the machine): when large, the devices sent late and the step's figures are pessimistic",
  rssPerIdleDevice:
    'measured on a `voxgate start` process of its own (dist/, the bench\'s engines): its RSS (and JS heap), after a full GC, with N idle MQTT devices connected − before (after 20 warm-up devices came and went), ÷ N',
  gatewayIdleRss: 'the same process before any device connected, after a full GC: the idle gateway\'s own RSS',
};

const ms = (v: number | null | undefined) => (v === null || v === undefined ? '—' : v >= 100 ? `${v.toFixed(0)}` : v.toFixed(1));

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]) => `| ${r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

const pRow = (name: string, clock: string, s: LatencySummary) => [name, clock, ms(s.p50), ms(s.p95), ms(s.p99), String(s.count)];

export function formatBench(r: BenchResult): string {
  const out: string[] = [];
  const m = r.machine;
  out.push(`voxgate benchmark${r.quick ? ' (--quick)' : ''} — ${m.cpu} × ${m.cores} cores, ${m.ramGiB} GiB RAM, Node ${m.node}, load average ${m.loadAverageAtStart.join(' / ')} at start; ${r.durationS} s`);
  const s = r.setup;
  out.push(
    `engines: STT sherpa-onnx ${s.stt}${s.sttReal ? '' : ' — NOT a real model: recognition cost is not a real model\'s'}, ${s.sttWorkers} worker(s), Silero VAD gate (${s.vad}); TTS ${s.tts}; LLM fake Groq (TTFT ${s.llm.ttftMs} ms, ${s.llm.tokensPerSecond} tokens/s) via groq-sdk`,
  );
  out.push(`devices: ${s.transport}, mic ${s.codec} ${s.frameMs} ms frames, reply ${s.codec} 16 kHz; latency phase: button held ${s.holdMs} ms after each recording`);

  const l = r.latency;
  const st = l.stages;
  out.push('', `Latency — ${l.devices} device(s) talking recordings, ${l.completed}/${l.turns} turns completed, ${l.joined} joined to the gateway's records (ms)`);
  out.push(
    table(
      ['stage', 'clock', 'p50', 'p95', 'p99', 'n'],
      [
        pRow('release → final transcript', 'device', st.releaseToFinal),
        pRow('release → first LLM token', 'gateway', st.gatewayReleaseToFirstToken),
        pRow('release → first reply audio', 'device', st.releaseToFirstAudio),
        pRow('  release → final transcript', 'gateway', st.gatewayReleaseToFinal),
        pRow('  first token → first sentence', 'gateway', st.gatewayFirstTokenToFirstSentence),
        pRow('  first sentence → first audio sent', 'gateway', st.gatewayFirstSentenceToFirstAudio),
        pRow('  release → first audio sent', 'gateway', st.gatewayReleaseToFirstAudio),
        pRow('  STT flush', 'engine', st.sttFlush),
        pRow('  LLM reply() → first token', 'engine', st.llmFirstToken),
        pRow('  LLM reply() → first sentence', 'engine', st.llmFirstSentence),
        pRow('  TTS first sentence', 'engine', st.ttsFirstSentence),
        pRow('gateway overhead (see below)', 'derived', st.gatewayOverhead),
      ],
    ),
  );
  for (const failure of l.failures.slice(0, 5)) out.push(`  failed: ${failure}`);

  const w = r.latencyWithoutPreemption;
  const p = l.preemption;
  const pct = (v: number | null) => (v === null ? '—' : `${Math.round(v * 100)} %`);
  out.push('', `Preemptive generation — ${s.preemption.enabled ? 'on' : 'off'} (stable ${s.preemption.stableMs} ms); the same phase with it off on a second gateway (ms)`);
  out.push(
    table(
      ['release → first reply audio (device)', 'p50', 'p95', 'p99', 'n'],
      [
        ['with preemption', ms(st.releaseToFirstAudio.p50), ms(st.releaseToFirstAudio.p95), ms(st.releaseToFirstAudio.p99), String(st.releaseToFirstAudio.count)],
        ['  preempted turns', ms(p.preemptedReleaseToFirstAudio.p50), ms(p.preemptedReleaseToFirstAudio.p95), ms(p.preemptedReleaseToFirstAudio.p99), String(p.preemptedReleaseToFirstAudio.count)],
        ['  the other turns', ms(p.otherReleaseToFirstAudio.p50), ms(p.otherReleaseToFirstAudio.p95), ms(p.otherReleaseToFirstAudio.p99), String(p.otherReleaseToFirstAudio.count)],
        ['without preemption (second gateway)', ms(w.stages.releaseToFirstAudio.p50), ms(w.stages.releaseToFirstAudio.p95), ms(w.stages.releaseToFirstAudio.p99), String(w.stages.releaseToFirstAudio.count)],
        ['speculation start → release (preempted)', ms(p.leadMs.p50), ms(p.leadMs.p95), ms(p.leadMs.p99), String(p.leadMs.count)],
        ['LLM TTFT (fake server setting)', ms(s.llm.ttftMs), '', '', ''],
      ],
    ),
  );
  out.push(
    `speculations: ${p.started} started, ${p.committed} committed, ${p.discarded} discarded (${Object.entries(p.discardReasons).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}); hit rate ${pct(p.hitRate)}; ${p.preemptedTurns}/${l.joined} turns preempted`,
  );
  for (const failure of w.failures.slice(0, 5)) out.push(`  failed (without preemption): ${failure}`);

  const b = r.baseline;
  const x = (v: number | null) => (v === null ? '—' : `×${v.toFixed(2)}`);
  out.push('', `Non-streaming baseline — the same ${b.turns} turns, same engine objects, in-process (ms)`);
  out.push(
    table(
      ['stage', 'clock', 'p50', 'p95', 'p99', 'n'],
      [
        pRow('release → transcript (whole audio)', 'bench', b.stages.releaseToFinal),
        pRow('release → whole LLM answer', 'bench', b.stages.releaseToAnswer),
        pRow('release → whole reply synthesized', 'bench', b.stages.releaseToSynthesized),
        pRow('release → first reply audio', 'bench', b.stages.releaseToFirstAudio),
      ],
    ),
  );
  out.push(
    `baseline ÷ voxgate, release → first reply audio: p50 ${x(b.ratio.p50)}, p95 ${x(b.ratio.p95)}, p99 ${x(b.ratio.p99)}; median of per-turn ratios ${x(b.ratio.perTurnMedian)}`,
  );

  if (r.scale) {
    const c = r.scale;
    out.push('', `Scale — N devices talking ${c.clip.name} (${c.clip.seconds} s) at once; holds while partials p95 < ${c.criteria.partialLagMs} ms behind real time and loop lag p99 < ${c.criteria.loopLagMs} ms`);
    out.push(
      table(
        ['devices', 'held', 'turns ok', 'partial lag p50/p95 ms', 'loop lag p99/max ms', 'CPU/device', 'RSS/device', 'release→1st audio p95', 'sim lag p99'],
        c.steps.map((step) => [
          String(step.devices),
          step.held ? 'yes' : 'NO',
          `${step.completed}/${step.turns}`,
          `${ms(step.partialLag.p50)} / ${ms(step.partialLag.p95)}`,
          `${step.loopLag.p99Ms.toFixed(1)} / ${step.loopLag.maxMs.toFixed(1)}`,
          `${step.cpuPerDevicePct.toFixed(1)} %`,
          `${step.rssPerDeviceMb.toFixed(2)} MB`,
          `${ms(step.releaseToFirstAudio.p95)} ms`,
          `${step.generatorLagP99Ms.toFixed(1)} ms`,
        ]),
      ),
    );
    out.push(`held: ${c.heldDevices} concurrently talking device(s); stopped: ${c.stoppedBecause}`);
  }

  if (r.idle) {
    const i = r.idle;
    out.push('', `Idle — ${i.requested} MQTT devices connected and quiet (${i.gateway})`);
    out.push(
      table(
        ['idle gateway RSS', 'connected', 'connect time', 'RSS before → after', 'RSS / device', 'JS heap / device'],
        [[`${i.gatewayRssMb} MB`, `${i.connected}/${i.requested}`, `${i.connectS} s`, `${i.rssBeforeMb} → ${i.rssAfterMb} MB`, `${i.rssPerDeviceKb ?? '—'} KB`, `${i.heapPerDeviceKb ?? '—'} KB`]],
      ),
    );
    for (const note of i.notes) out.push(`  note: ${note}`);
  }

  out.push('', 'Definitions:');
  for (const [name, text] of Object.entries(r.definitions)) out.push(`  ${name}: ${text}`);
  return `${out.join('\n')}\n`;
}
