/**
 * `npm run soak -- --minutes N [--devices D] [--json]`: the gateway under a steady load of
 * simulated wearables on both transports for N minutes while faults are injected on a schedule
 * (faults.ts), in two phases of N/2 minutes: the embedded broker, then an external Mosquitto
 * that the soak starts and restarts. The gateway runs in its own process (soak-gateway.ts) and
 * its figures come from its /metrics and /api/devices. Exit 0 when every phase passed; 1 when
 * a device got stuck, memory grew past its bound, or the gateway crashed or would not stop;
 * 2 on bad usage or when the soak could not start.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { DEFAULT_LOAD_AUDIO, loadRecordings } from '../../device-sim/load-recordings.ts';
import { runPhase } from './phase.ts';
import { DEFAULT_BOUNDS, DEFINITIONS, formatSoak, type PhaseResult, type SoakResult } from './report.ts';
import type { BrokerMode } from './soak-world.ts';

const USAGE = `usage: npm run soak -- --minutes N [options]
  --minutes N             how long the devices talk, in all (fractions allowed; 0.2 to 1440)
  --devices D             simulated devices, half WebSocket and half MQTT (default 6; 2 to 64)
  --broker MODE           both (default: N/2 minutes each), embedded or mosquitto
  --json                  print one JSON object instead of the report
  --max-heap-slope MB     largest allowed heap growth after GC, MB/min (default ${DEFAULT_BOUNDS.heapMbPerMin})
  --max-rss-slope MB      largest allowed RSS growth after GC, MB/min (default ${DEFAULT_BOUNDS.rssMbPerMin})
  --seed N                random seed of the devices' turns (default 1)
  --gateway-log FILE      append the gateway's whole log (level info) to FILE
  --audio PATH            WAV file or folder the devices speak (repeatable; default the
                          repository's five English utterances of 3.5–15 s)
Memory is judged on a phase when enough time follows its warm-up (20 % of the phase, at most
2 min): the heap after ${DEFAULT_BOUNDS.minJudgedMs / 60_000} minutes, RSS after ${DEFAULT_BOUNDS.minRssJudgedMs / 60_000} (e.g. --minutes 15 --broker embedded).
Exit codes: 0 passed; 1 a device got stuck, memory grew past its bound, or the gateway crashed
or would not stop; 2 bad usage or the soak could not start.`;

function numberOption(value: string | undefined, fallback: number, name: string, min: number, max: number, integer = false): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) throw new UsageError(`--${name} must be a ${integer ? 'whole ' : ''}number from ${min} to ${max}`);
  return n;
}

class UsageError extends Error {}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string' },
      devices: { type: 'string' },
      broker: { type: 'string', default: 'both' },
      json: { type: 'boolean', default: false },
      'max-heap-slope': { type: 'string' },
      'max-rss-slope': { type: 'string' },
      seed: { type: 'string' },
      audio: { type: 'string', multiple: true },
      'gateway-log': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (values.minutes === undefined) throw new UsageError('--minutes is required');
  const minutes = numberOption(values.minutes, 0, 'minutes', 0.2, 1440);
  const deviceCount = numberOption(values.devices, 6, 'devices', 2, 64, true);
  const seed = numberOption(values.seed, 1, 'seed', 0, 2 ** 32 - 1, true);
  const bounds = {
    ...DEFAULT_BOUNDS,
    heapMbPerMin: numberOption(values['max-heap-slope'], DEFAULT_BOUNDS.heapMbPerMin, 'max-heap-slope', 0, 1000),
    rssMbPerMin: numberOption(values['max-rss-slope'], DEFAULT_BOUNDS.rssMbPerMin, 'max-rss-slope', 0, 1000),
  };
  const brokers: BrokerMode[] =
    values.broker === 'both' ? ['embedded', 'mosquitto'] : values.broker === 'embedded' || values.broker === 'mosquitto' ? [values.broker] : [];
  if (brokers.length === 0) throw new UsageError('--broker must be both, embedded or mosquitto');

  const log = (line: string) => process.stderr.write(`[soak] ${line}\n`);
  const loadNow = () => os.loadavg().map((v) => Math.round(v * 100) / 100);
  const loadAverageAtStart = loadNow();
  const loadSamples: number[] = [];
  const loadTimer = setInterval(() => loadSamples.push(loadNow()[0]!), 10_000);
  log(`load average at start: ${loadAverageAtStart.join(' / ')} on ${os.availableParallelism()} cores`);
  const recordings = await loadRecordings(values.audio?.length ? values.audio : [DEFAULT_LOAD_AUDIO], 'opus', 60);
  const startedAt = new Date().toISOString();
  const phases: PhaseResult[] = [];
  try {
    for (const broker of brokers) {
      const phase = await runPhase({ broker, durationMs: (minutes * 60_000) / brokers.length, devices: deviceCount, seed, bounds, recordings, gatewayLog: values['gateway-log'], log });
      log(`${broker}: ${phase.failures.length === 0 ? 'passed' : `FAILED: ${phase.failures.join('; ')}`}`);
      phases.push(phase);
    }
  } finally {
    clearInterval(loadTimer);
  }
  const result: SoakResult = {
    startedAt,
    minutes,
    devices: deviceCount,
    seed,
    machine: { cores: os.availableParallelism(), node: process.version, loadAverageAtStart, loadAverageAtEnd: loadNow(), loadAverageSamples: loadSamples },
    phases,
    passed: phases.every((p) => p.failures.length === 0),
    definitions: DEFINITIONS,
  };
  process.stdout.write(values.json ? `${JSON.stringify(result, null, 2)}\n` : formatSoak(result));
  return result.passed ? 0 : 1;
}

try {
  process.exitCode = await main();
} catch (error) {
  const usage = error instanceof UsageError;
  process.stderr.write(`soak ${usage ? 'usage error' : 'failed'}: ${usage ? (error as Error).message : ((error as Error).stack ?? String(error))}\n\n${USAGE}\n`);
  process.exitCode = 2;
}
