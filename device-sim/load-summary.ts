/**
 * Percentile summaries of latencies for the load generator and the benchmark, computed with
 * an HDR histogram (hdr-histogram-js): values are recorded in microseconds with 3 significant
 * digits, so a percentile is within 0.1 % of the exact order statistic, and many thousands of
 * samples cost a few kilobytes.
 */
import { build } from 'hdr-histogram-js';

/** A distribution in milliseconds; every field is null when there were no samples. */
export interface LatencySummary {
  count: number;
  min: number | null;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
  mean: number | null;
}

/** 3 significant digits: 0.1 % resolution is far finer than anything timers on a busy machine can tell apart. */
const SIGNIFICANT_DIGITS = 3;
const MICROS_PER_MS = 1000;
/** Printed values keep 0.1 ms: finer is noise. */
const round = (ms: number) => Math.round(ms * 10) / 10;

export const EMPTY_SUMMARY: Readonly<LatencySummary> = Object.freeze({ count: 0, min: null, p50: null, p95: null, p99: null, max: null, mean: null });

/**
 * Summarizes latencies in ms. Null, NaN and infinite values are left out (a stage the turn
 * never reached); negative values count as 0 (clock granularity).
 */
export function summarizeLatencies(values: Iterable<number | null | undefined>): LatencySummary {
  const histogram = build({ numberOfSignificantValueDigits: SIGNIFICANT_DIGITS, lowestDiscernibleValue: 1, autoResize: true });
  let count = 0;
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  try {
    for (const value of values) {
      if (value === null || value === undefined || !Number.isFinite(value)) continue;
      const ms = Math.max(0, value);
      histogram.recordValue(Math.round(ms * MICROS_PER_MS));
      count += 1;
      sum += ms;
      min = Math.min(min, ms);
      max = Math.max(max, ms);
    }
    if (count === 0) return { ...EMPTY_SUMMARY };
    const at = (percentile: number) => round(histogram.getValueAtPercentile(percentile) / MICROS_PER_MS);
    // The histogram reports a bucket's upper edge; the exact extremes are known, so clamp to them.
    const clamp = (ms: number) => Math.min(round(max), Math.max(round(min), ms));
    return {
      count,
      min: round(min),
      p50: clamp(at(50)),
      p95: clamp(at(95)),
      p99: clamp(at(99)),
      max: round(max),
      mean: round(sum / count),
    };
  } finally {
    histogram.destroy();
  }
}

/** "p50 12.3 / p95 45.6 / p99 78.9 ms (n=42)" — or "n/a" with no samples. */
export function formatSummary(summary: LatencySummary, unit = 'ms'): string {
  if (summary.count === 0) return 'n/a';
  const f = (v: number | null) => (v === null ? '—' : v >= 100 ? v.toFixed(0) : v.toFixed(1));
  return `p50 ${f(summary.p50)} / p95 ${f(summary.p95)} / p99 ${f(summary.p99)} ${unit} (n=${summary.count})`;
}
