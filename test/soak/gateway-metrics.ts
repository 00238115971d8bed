/**
 * The gateway's own figures, read the way an operator reads them: its /metrics (prom-client's
 * process and Node metrics, voxgate's turn and error counters). One sample = one scrape for
 * the event-loop lag window and handles, then (optionally) a full GC in the gateway and a
 * second scrape for memory: heap after GC is what is live, so a slope over such samples is a
 * leak and not garbage waiting for collection. prom-client resets its lag histogram at each
 * scrape, so the GC pause falls in the second scrape's window, which is not used.
 */
import { LAG_RESOLUTION_MS } from '../bench/loop-lag.ts';
import { MB } from '../bench/process-usage.ts';

/** `name{labels}` → value, for every sample line of a Prometheus text exposition. */
export function parsePrometheus(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const cut = line.lastIndexOf(' ');
    if (cut <= 0) continue;
    const value = Number(line.slice(cut + 1));
    if (!Number.isNaN(value)) values.set(line.slice(0, cut), value);
  }
  return values;
}

/** The labels of a `name{a="x",b="y"}` key. */
function labelsOf(key: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const match of key.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[match[1]!] = match[2]!;
  return labels;
}

/** Sums of a labelled family by one label's value (e.g. voxgate_turns_total by `outcome`), over the series that match `where`. */
export function byLabel(values: Map<string, number>, family: string, label: string, where: Record<string, string> = {}): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of values) {
    if (!key.startsWith(`${family}{`)) continue;
    const labels = labelsOf(key);
    if (Object.entries(where).some(([name, wanted]) => labels[name] !== wanted)) continue;
    const name = labels[label];
    if (name !== undefined) out[name] = (out[name] ?? 0) + value;
  }
  return out;
}

export interface MetricsSample {
  /** ms since the phase started. */
  atMs: number;
  rssMb: number;
  heapUsedMb: number;
  /** nodejs_external_memory_bytes: memory of JS objects held outside the heap (Buffers, audio arrays). */
  externalMb: number;
  /** nodejs_active_handles_total: libuv handles (sockets, timers, child processes, …). */
  handles: number;
  /** p99 / max event-loop lag in the window since the previous sample, beyond prom-client's 10 ms sampling interval. */
  lagP99Ms: number;
  lagMaxMs: number;
  /** Whether memory was read after a full GC. */
  afterGc: boolean;
  /** voxgate_turns_total by outcome; voxgate_errors_total{source="device"} by code. */
  turns: Record<string, number>;
  deviceErrors: Record<string, number>;
  connected: number;
}

export interface MetricsReader {
  /** One sample; `gc` first makes the gateway collect garbage (between the two scrapes). */
  sample(atMs: number, gc: boolean): Promise<MetricsSample>;
}

const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;
const lagMs = (seconds: number | undefined) => round(Math.max(0, (seconds ?? 0) * 1000 - LAG_RESOLUTION_MS));

export function gatewayMetrics(baseUrl: string, collectGarbage: () => Promise<void>): MetricsReader {
  const scrape = async () => {
    const response = await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(10_000) });
    if (!response.ok) throw new Error(`/metrics answered ${response.status}`);
    return parsePrometheus(await response.text());
  };
  return {
    async sample(atMs, gc) {
      const first = await scrape();
      let memory = first;
      if (gc) {
        await collectGarbage();
        memory = await scrape();
      }
      return {
        atMs: Math.round(atMs),
        rssMb: round((memory.get('process_resident_memory_bytes') ?? 0) / MB),
        heapUsedMb: round((memory.get('nodejs_heap_size_used_bytes') ?? 0) / MB),
        externalMb: round((memory.get('nodejs_external_memory_bytes') ?? 0) / MB),
        handles: first.get('nodejs_active_handles_total') ?? 0,
        lagP99Ms: lagMs(first.get('nodejs_eventloop_lag_p99_seconds')),
        lagMaxMs: lagMs(first.get('nodejs_eventloop_lag_max_seconds')),
        afterGc: gc,
        turns: byLabel(first, 'voxgate_turns_total', 'outcome'),
        deviceErrors: byLabel(first, 'voxgate_errors_total', 'code', { source: 'device' }),
        connected: Object.values(byLabel(first, 'voxgate_connected_devices', 'transport')).reduce((a, b) => a + b, 0),
      };
    },
  };
}

/** Least-squares slope of `value` over time, per minute (0 with fewer than two points). */
export function slopePerMinute(points: ReadonlyArray<{ atMs: number; value: number }>): number {
  if (points.length < 2) return 0;
  const xs = points.map((p) => p.atMs / 60_000);
  const meanX = xs.reduce((a, b) => a + b, 0) / xs.length;
  const meanY = points.reduce((a, p) => a + p.value, 0) / points.length;
  let num = 0;
  let den = 0;
  points.forEach((p, i) => {
    num += (xs[i]! - meanX) * (p.value - meanY);
    den += (xs[i]! - meanX) ** 2;
  });
  return den === 0 ? 0 : num / den;
}
