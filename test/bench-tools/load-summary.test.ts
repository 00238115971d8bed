/**
 * The load generator's bookkeeping: percentiles (HDR histogram), per-run turn summaries,
 * device credentials (id:token lists and --register through the gateway's store) and the
 * seeded schedule. CI runs these; the benchmark itself is `npm run bench`.
 */
import { describe, expect, it } from 'vitest';
import { parseCredential, parseCredentialsFile } from '../../device-sim/load-credentials.ts';
import { registerLoadDevices } from '../../device-sim/load-register.ts';
import { summarizeTurns, type LoadTurn } from '../../device-sim/load-report.ts';
import { formatSummary, summarizeLatencies } from '../../device-sim/load-summary.ts';
import { seededRandom } from '../../device-sim/load.ts';
import { openStore } from '../../gateway/store/index.ts';
import { useTempDirs } from '../helpers/temp-dir.ts';

/** HDR keeps 3 significant digits: a percentile is within 0.1 % of the exact order statistic. */
const within = (actual: number | null, expected: number) => {
  expect(actual).not.toBeNull();
  expect(Math.abs(actual! - expected)).toBeLessThanOrEqual(expected * 0.001 + 0.1);
};

describe('summarizeLatencies', () => {
  it('gives the order statistics of a uniform spread', () => {
    const s = summarizeLatencies(Array.from({ length: 1000 }, (_, i) => i + 1));
    expect(s.count).toBe(1000);
    expect(s.min).toBe(1);
    expect(s.max).toBe(1000);
    expect(s.mean).toBe(500.5);
    within(s.p50, 500);
    within(s.p95, 950);
    within(s.p99, 990);
  });

  it('puts a rare outlier above p99 only when it is more than 1 % of the samples', () => {
    const one = summarizeLatencies([...Array(99).fill(10), 5000]);
    expect([one.p50, one.p95, one.p99, one.max]).toEqual([10, 10, 10, 5000]);
    const two = summarizeLatencies([...Array(98).fill(10), 5000, 5000]);
    expect(two.p95).toBe(10);
    within(two.p99, 5000);
  });

  it('keeps sub-millisecond resolution', () => {
    const s = summarizeLatencies([0.25, 0.5, 0.75]);
    expect([s.min, s.p50, s.max]).toEqual([0.3, 0.5, 0.8]); // printed to 0.1 ms
  });

  it('leaves out stages never reached and counts negative clock noise as 0', () => {
    const s = summarizeLatencies([null, undefined, Number.NaN, Number.POSITIVE_INFINITY, -0.4, 20]);
    expect(s.count).toBe(2);
    expect(s.min).toBe(0);
    expect(s.max).toBe(20);
  });

  it('is empty, not zero, without samples', () => {
    const s = summarizeLatencies([]);
    expect(s).toEqual({ count: 0, min: null, p50: null, p95: null, p99: null, max: null, mean: null });
    expect(formatSummary(s)).toBe('n/a');
    expect(formatSummary(summarizeLatencies([12, 340]))).toBe('p50 12.0 / p95 340 / p99 340 ms (n=2)');
  });
});

function turn(overrides: Omit<Partial<LoadTurn>, 'timings'> & { timings?: Partial<LoadTurn['timings']> }): LoadTurn {
  const { timings, ...rest } = overrides;
  return {
    device: 'd1',
    recording: 'clip',
    turn: 1,
    pressedAtMs: 0,
    stopReason: 'done',
    ok: true,
    final: 'hello',
    partials: [],
    sentences: 2,
    micFrames: 50,
    replyPackets: 40,
    replyAudioMs: 2400,
    issues: [],
    ...rest,
    timings: { streamMs: 3000, releaseToFinalMs: 50, releaseToFirstAudioMs: 400, totalMs: 6000, abortToStopMs: null, abortToLastAudioMs: null, ...timings },
  };
}

describe('summarizeTurns', () => {
  it('counts completed and failed turns by how they ended, and times only the stages reached', () => {
    const stats = summarizeTurns([
      turn({ partials: [{ atMs: 300, text: 'he' }, { atMs: 600, text: 'hello' }] }),
      turn({ timings: { releaseToFinalMs: 70, releaseToFirstAudioMs: 500 } }),
      turn({ ok: false, stopReason: 'timeout', timings: { releaseToFirstAudioMs: null } }),
      turn({ ok: false, stopReason: 'done', issues: ['gateway_error: rate_limited: …'] }),
    ]);
    expect(stats).toMatchObject({ turns: 4, completed: 2, failed: 2, failedBy: { timeout: 1, issues: 1 }, partials: 2 });
    expect(stats.releaseToFirstAudioMs.count).toBe(3);
    expect(stats.releaseToFirstAudioMs.max).toBe(500);
    expect(stats.releaseToFinalMs.count).toBe(4);
  });
});

describe('device credentials', () => {
  it('parses id:token (tokens may hold colons) and files with comments', () => {
    expect(parseCredential('kitchen-1:abc:def')).toEqual({ id: 'kitchen-1', token: 'abc:def' });
    expect(() => parseCredential('kitchen-1')).toThrow(/no token/);
    expect(() => parseCredential('bad id:t')).toThrow(/invalid device id/);
    expect(parseCredentialsFile('# devices\n\na:1\r\n  b:2  \n')).toEqual([
      { id: 'a', token: '1' },
      { id: 'b', token: '2' },
    ]);
  });

  const tempDir = useTempDirs('load-register');
  it('--register adds devices to the gateway store, and a second run issues fresh tokens', () => {
    const dataDir = tempDir();
    const first = registerLoadDevices(dataDir, 3, 'load-');
    expect(first.map((c) => c.id)).toEqual(['load-0001', 'load-0002', 'load-0003']);
    const again = registerLoadDevices(dataDir, 2, 'load-');
    const store = openStore(dataDir);
    try {
      expect(store.devices.list().map((d) => d.id)).toEqual(['load-0001', 'load-0002', 'load-0003']);
      expect(store.devices.verify('load-0001', again[0]!.token)).toBe(true);
      expect(store.devices.verify('load-0001', first[0]!.token)).toBe(false);
      expect(store.devices.verify('load-0003', first[2]!.token)).toBe(true);
    } finally {
      store.close();
    }
    expect(() => registerLoadDevices(dataDir, 1, 'bad prefix ')).toThrow(/invalid device ids/);
  });
});

describe('seededRandom', () => {
  it('repeats the same schedule for the same seed and stays in [0, 1)', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const draws = Array.from({ length: 1000 }, () => a());
    expect(draws).toEqual(Array.from({ length: 1000 }, () => b()));
    expect(draws.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(seededRandom(43)()).not.toBe(draws[0]);
    const mean = draws.reduce((sum, x) => sum + x, 0) / draws.length;
    expect(mean).toBeGreaterThan(0.45);
    expect(mean).toBeLessThan(0.55);
  });
});
