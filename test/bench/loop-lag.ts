/**
 * Event-loop lag as benchmarks report it: what monitorEventLoopDelay sees beyond its own
 * timer interval (its samples include the interval, so it is subtracted).
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/** monitorEventLoopDelay's timer interval. */
export const LAG_RESOLUTION_MS = 10;

export interface LoopLag {
  /** Samples taken (one per interval the loop was free to take one). */
  count: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

const excess = (ns: number) => Math.round(Math.max(0, ns / 1e6 - LAG_RESOLUTION_MS) * 10) / 10;

export function loopLagOf(histogram: IntervalHistogram): LoopLag {
  if (histogram.count === 0) return { count: 0, p50Ms: 0, p99Ms: 0, maxMs: 0 };
  return { count: histogram.count, p50Ms: excess(histogram.percentile(50)), p99Ms: excess(histogram.percentile(99)), maxMs: excess(histogram.max) };
}

/** Starts measuring; `stop()` ends it and returns the figures. */
export function measureLoopLag(): { stop(): LoopLag } {
  const histogram = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
  histogram.enable();
  return {
    stop() {
      histogram.disable();
      return loopLagOf(histogram);
    },
  };
}

/** "p99 1.2 ms, max 3.4 ms". */
export function lagSummary(histogram: IntervalHistogram): string {
  if (histogram.count === 0) return 'n/a (ran < 10 ms)';
  const lag = loopLagOf(histogram);
  return `p99 ${lag.p99Ms.toFixed(1)} ms, max ${lag.maxMs.toFixed(1)} ms`;
}
