/**
 * `npm run bench [-- --quick] [-- --json]`: how fast voxgate answers and how many wearables
 * one machine holds, next to the buffer-then-transcribe design most voice servers use.
 *
 *   1. latency: a few devices talk real recordings (test/fixtures/audio) over the real protocol;
 *      per-stage percentiles from the devices', the gateway's and the engines' clocks, and
 *      the gateway's own overhead (latency.ts);
 *   2. baseline: the same turns through a non-streaming pipeline on the same engines;
 *      then the latency phase again on a second gateway with preemptive generation off
 *      (latencyWithoutPreemption), for the comparison;
 *   3. idle: the idle gateway's own RSS and the memory per idle connected MQTT device, on a
 *      `voxgate start` process of its own (idle.ts);
 *   4. scale: 1, 2, 4, … devices talking at once until partials fall 500 ms behind or the
 *      event loop lags 50 ms (scale.ts).
 * The gateway runs in this process (except for the idle phase); the devices (voxgate-sim load)
 * and the fake LLM run in child processes, so CPU, memory and loop lag are the gateway's own. Every phase is bounded
 * in count and time. Progress goes to stderr; the table (or --json) to stdout.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { DEFAULT_LOAD_AUDIO, loadRecordings } from '../../device-sim/load-recordings.ts';
import { startBenchGateway } from './bench-gateway.ts';
import { runIdlePhase } from './idle.ts';
import { runBaselinePhase, runLatencyPhase, type LatencyOptions } from './latency.ts';
import { DEFINITIONS, formatBench, type BenchResult, type Machine } from './report.ts';
import { DEFAULT_SCALE_CRITERIA, doublingSteps, runScalePhase } from './scale.ts';

/** Three sentences: long enough that waiting for the whole answer (the baseline) shows. */
const BENCH_REPLY =
  'Sure, the kitchen light is on now. The front door is locked, and the heating is set to twenty one degrees. Is there anything else I can do for you?';
/** The clip every device of a scale step speaks: 8.4 s of English at 16 kHz. */
const SCALE_CLIP = 'mms-eng';
/**
 * The latency phase's devices keep the button held this long after each recording (which
 * ends 0.1–0.2 s after its last word): a person releases a moment after finishing, and only
 * that moment lets a reply start before release (docs/latency.md).
 */
const DEFAULT_HOLD_MS = 500;
/** Upper bounds of the knobs, so a typo cannot run for hours or exhaust the machine. */
const LIMITS = { devices: 256, turns: 100, idleDevices: 5000 };

const USAGE = `usage: npm run bench -- [options]
  --quick                 short run (fewer turns, scale up to 8 devices, 200 idle devices)
  --json                  print one JSON object instead of the table
  --transport ws|mqtt     device transport for latency and scale (default ws)
  --codec opus|pcm16      microphone and reply codec (default opus)
  --llm-ttft-ms N         fake LLM time to first token (default 250)
  --llm-tokens-per-s N    fake LLM tokens (words) per second after the first (default 100)
  --latency-devices N     devices in the latency phase (default 3; quick 2)
  --latency-turns N       turns per device in the latency phase (default 4; quick 2)
  --hold-ms N             latency phase: the button stays held N ms after each recording
                          (a person releases a moment after the last word; default 500)
  --max-devices N         largest scale step (default 64; quick 8)
  --scale-turns N         turns per device per scale step (default 1)
  --idle-devices N        idle MQTT devices (default 2000; quick 200; 0 skips)
  --no-scale              skip the scale phase
  --seed N                random seed of the simulated devices (default 1)
Speech models: the configured ones when installed (VOXGATE_MODELS_DIR, VOXGATE_STT_MODEL,
VOXGATE_TTS_VOICE, VOXGATE_STT_WORKERS, …), else the test fixtures; TTS is espeak-ng unless a
sherpa voice is installed.`;

function intOption(value: string | undefined, fallback: number, name: string, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be a whole number from ${min} to ${max}`);
  return n;
}

function machine(): Machine {
  return {
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown CPU',
    cores: os.availableParallelism(),
    ramGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    loadAverageAtStart: os.loadavg().map((v) => Math.round(v * 100) / 100),
  };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      transport: { type: 'string', default: 'ws' },
      codec: { type: 'string', default: 'opus' },
      'llm-ttft-ms': { type: 'string' },
      'llm-tokens-per-s': { type: 'string' },
      'latency-devices': { type: 'string' },
      'latency-turns': { type: 'string' },
      'hold-ms': { type: 'string' },
      'max-devices': { type: 'string' },
      'scale-turns': { type: 'string' },
      'idle-devices': { type: 'string' },
      'no-scale': { type: 'boolean', default: false },
      seed: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const quick = values.quick!;
  if (values.transport !== 'ws' && values.transport !== 'mqtt') throw new Error('--transport must be ws or mqtt');
  if (values.codec !== 'opus' && values.codec !== 'pcm16') throw new Error('--codec must be opus or pcm16');
  const transport = values.transport;
  const codec = values.codec;
  const frameMs = 60;
  const llm = {
    ttftMs: intOption(values['llm-ttft-ms'], 250, 'llm-ttft-ms', 0, 30_000),
    tokensPerSecond: intOption(values['llm-tokens-per-s'], 100, 'llm-tokens-per-s', 1, 10_000),
    reply: BENCH_REPLY,
  };
  const latencyDevices = intOption(values['latency-devices'], quick ? 2 : 3, 'latency-devices', 1, LIMITS.devices);
  const latencyTurns = intOption(values['latency-turns'], quick ? 2 : 4, 'latency-turns', 1, LIMITS.turns);
  const maxDevices = intOption(values['max-devices'], quick ? 8 : 64, 'max-devices', 1, LIMITS.devices);
  const scaleTurns = intOption(values['scale-turns'], 1, 'scale-turns', 1, LIMITS.turns);
  const idleDevices = intOption(values['idle-devices'], quick ? 200 : 2000, 'idle-devices', 0, LIMITS.idleDevices);
  const seed = intOption(values.seed, 1, 'seed', 0, 2 ** 32 - 1);
  const holdMs = intOption(values['hold-ms'], DEFAULT_HOLD_MS, 'hold-ms', 0, 10_000);
  const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

  const started = performance.now();
  const startedAt = new Date().toISOString();
  const host = machine();
  log(`load average at start: ${host.loadAverageAtStart.join(' / ')} on ${host.cores} cores`);
  const recordings = await loadRecordings([DEFAULT_LOAD_AUDIO], codec, frameMs, { holdMs });
  // The scale phase measures partials while talking: its clip without the hold.
  const plain = await loadRecordings([DEFAULT_LOAD_AUDIO], codec, frameMs);
  const clip = plain.find((r) => r.name === SCALE_CLIP) ?? plain[0]!;

  const bench = await startBenchGateway(llm);
  // A crash or Ctrl-C must not leave the child processes and temp dir behind.
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= bench.stop());
  const onSignal = () => void stop().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    log(`gateway up: STT ${bench.setup.stt}, TTS ${bench.setup.tts}; latency phase (${latencyDevices} device(s) × ${latencyTurns} turns)…`);
    const latencyOptions: LatencyOptions = { transport, codec, frameMs, devices: latencyDevices, turnsPerDevice: latencyTurns, recordings, holdMs, seed };
    const { result: latency, joined } = await runLatencyPhase(bench, latencyOptions);
    log(`latency: ${latency.completed}/${latency.turns} turns; baseline on the same ${joined.length} turns…`);
    const baseline = await runBaselinePhase(bench, joined, recordings, latency.stages.releaseToFirstAudio);
    log(`the same latency phase without preemptive generation (a second gateway, VOXGATE_PREEMPTIVE=off)…`);
    const withoutPreemption = await runWithoutPreemption(llm, latencyOptions);
    // The idle phase measures a gateway process of its own (idle.ts); this one stays idle meanwhile.
    let idle = null;
    if (idleDevices > 0) {
      log(`idle phase: ${idleDevices} MQTT devices…`);
      idle = await runIdlePhase(bench, { devices: idleDevices, connectConcurrency: 50, connectLimitMs: quick ? 60_000 : 180_000 });
    }
    let scale = null;
    if (!values['no-scale']) {
      log(`scale phase: up to ${maxDevices} devices…`);
      scale = await runScalePhase(
        bench,
        { transport, codec, frameMs, steps: doublingSteps(maxDevices), turnsPerDevice: scaleTurns, clip, criteria: DEFAULT_SCALE_CRITERIA, seed },
        log,
      );
    }
    const result: BenchResult = {
      startedAt,
      durationS: Math.round((performance.now() - started) / 1000),
      quick,
      machine: host,
      setup: { ...bench.setup, transport, codec, frameMs, holdMs },
      latency,
      latencyWithoutPreemption: withoutPreemption,
      baseline,
      scale,
      idle,
      definitions: DEFINITIONS,
    };
    process.stdout.write(values.json ? `${JSON.stringify(result, null, 2)}\n` : formatBench(result));
    const ok = (phase: typeof latency) => phase.joined > 0 && phase.failures.length === 0;
    return ok(latency) && ok(withoutPreemption) ? 0 : 1;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    await stop();
  }
}

/** The latency phase on a gateway of its own with preemption off, stopped afterwards. */
async function runWithoutPreemption(llm: Parameters<typeof startBenchGateway>[0], options: Parameters<typeof runLatencyPhase>[1]) {
  const bench = await startBenchGateway(llm, { preemptive: false });
  try {
    return (await runLatencyPhase(bench, options)).result;
  } finally {
    await bench.stop();
  }
}

try {
  process.exitCode = await main();
} catch (error) {
  process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n\n${USAGE}\n`);
  process.exitCode = 2;
}
