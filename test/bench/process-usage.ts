/**
 * The gateway process's own resource use: CPU time (all its threads, i.e. the STT/TTS
 * workers too, plus the espeak-ng processes it ran and reaped) and resident memory.
 */
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Linux reports child CPU time in clock ticks of USER_HZ, which is 100 on every Linux ABI. */
const USER_HZ = 100;

/** CPU ms of processes this one started and has reaped (espeak-ng per sentence); 0 where /proc is not there. */
function reapedChildrenCpuMs(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    // Fields after the command name (which may hold spaces) start at field 3 (state).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cutime = Number(fields[16 - 3]);
    const cstime = Number(fields[17 - 3]);
    return Number.isFinite(cutime + cstime) ? ((cutime + cstime) * 1000) / USER_HZ : 0;
  } catch {
    return 0;
  }
}

export interface CpuMark {
  at: number;
  /** Own CPU (all threads) + reaped children's, ms. */
  cpuMs: number;
}

export function cpuMark(): CpuMark {
  const own = process.cpuUsage();
  return { at: performance.now(), cpuMs: (own.user + own.system) / 1000 + reapedChildrenCpuMs() };
}

/** Cores busy between two marks (1 = one core fully busy). */
export function coresBusy(from: CpuMark, to: CpuMark): number {
  const wall = to.at - from.at;
  return wall > 0 ? (to.cpuMs - from.cpuMs) / wall : 0;
}

/** Samples RSS every `intervalMs` until stopped; returns the peak. */
export function sampleRss(intervalMs = 200): { stop(): number } {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), intervalMs);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, process.memoryUsage.rss());
    },
  };
}

let gcFunction: (() => void) | undefined;

/** A full garbage collection, so memory figures are what is live, not what is not yet collected. */
export function collectGarbage(): void {
  if (!gcFunction) {
    // Node only exposes gc() with --expose-gc; the flag can still be set at run time for a new context.
    setFlagsFromString('--expose-gc');
    gcFunction = runInNewContext('gc') as () => void;
  }
  gcFunction();
  gcFunction();
}

export const MB = 1024 * 1024;
