/**
 * Which Opus library the gateway ships: opusscript (libopus compiled to wasm / asm.js; also
 * through device-sim/opus.ts, the simulator's wrapper that avoids opusscript's heap bugs) or
 * @discordjs/opus (native addon, compiled from source here).
 *
 *   npx tsx test/bench/opus-compare.ts            CPU, memory, quality of each library
 *   npx tsx test/bench/opus-compare.ts --build    also times a from-source install of @discordjs/opus
 *   npx tsx test/bench/opus-compare.ts --build-only
 *
 * CPU: one stream = encode + decode of 60 s of real speech (speech-60s.wav, 16 kHz mono)
 * in 60 ms frames at 24 kbit/s, reported as ms of CPU per second of audio (median of runs).
 * Memory: RSS growth per live encoder+decoder pair (30 pairs; 300 native), measured first. Limit probe: how many
 * encoder+decoder pairs can live at once (up to 1000) and whether the first one still works
 * afterwards. Each library runs in its own child process so one does not skew the other.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { OpusCodec } from '../../device-sim/opus.ts';
import { readWavPcm16, SPEECH_60S_WAV } from '../audio/wav.ts';

const require = createRequire(import.meta.url);
const RATE = 16000;
const FRAME_MS = 60;
const FRAME_SAMPLES = (RATE * FRAME_MS) / 1000;
const BITRATE = 24_000;
const RUNS = 5;
/** opusscript cannot hold many more than 30 live pairs (see the limit probe); native gets more for a clearer figure. */
const memoryPairs = (lib: LibName) => (lib === 'discordjs-native' || lib === 'opusscript-wasm-fixed' ? 300 : 30);
const LIMIT_PROBE_MAX = 1000;

interface Codec {
  encode(pcm: Buffer): Buffer;
  decode(packet: Buffer): Buffer;
  free(): void;
}

type LibName = 'opusscript-wasm' | 'opusscript-asmjs' | 'opusscript-wasm-fixed' | 'discordjs-native';
const LIBS: LibName[] = ['opusscript-wasm', 'opusscript-asmjs', 'opusscript-wasm-fixed', 'discordjs-native'];

function makeCodec(lib: LibName): Codec {
  if (lib === 'discordjs-native') {
    const { OpusEncoder } = require('@discordjs/opus') as typeof import('@discordjs/opus');
    const enc = new OpusEncoder(RATE, 1);
    enc.setBitrate(BITRATE);
    const dec = new OpusEncoder(RATE, 1);
    return { encode: (pcm) => enc.encode(pcm), decode: (p) => dec.decode(p), free: () => {} };
  }
  if (lib === 'opusscript-wasm-fixed') {
    // the simulator's own wrapper around opusscript's wasm build, which avoids its JS wrapper's heap bugs
    const codec = new OpusCodec(RATE, { bitrate: BITRATE });
    const toPcm = (b: Buffer) => new Int16Array(b.buffer, b.byteOffset, b.length / 2);
    return {
      encode: (pcm) => Buffer.from(codec.encode(toPcm(pcm))),
      decode: (p) => {
        const out = codec.decode(p);
        return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
      },
      free: () => codec.close(),
    };
  }
  const OpusScript = require('opusscript') as typeof import('opusscript');
  const wasm = lib === 'opusscript-wasm';
  const enc = new OpusScript(RATE, 1, OpusScript.Application.AUDIO, { wasm });
  enc.setBitrate(BITRATE);
  const dec = new OpusScript(RATE, 1, OpusScript.Application.AUDIO, { wasm });
  return {
    encode: (pcm) => enc.encode(pcm, pcm.length / 2),
    decode: (p) => dec.decode(p),
    free: () => {
      enc.delete();
      dec.delete();
    },
  };
}

function frames(samples: Int16Array): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i + FRAME_SAMPLES <= samples.length; i += FRAME_SAMPLES) {
    out.push(Buffer.from(samples.buffer, samples.byteOffset + i * 2, FRAME_SAMPLES * 2));
  }
  return out;
}

/** SNR of the decoded signal against the source, aligned by the codec delay found by cross-correlation. */
function snrDb(source: Int16Array, decoded: Int16Array): { snr: number; delay: number } {
  let best = { delay: 0, corr: -Infinity };
  const probe = Math.min(source.length, 16000 * 10);
  for (let d = 0; d < 400; d++) {
    let c = 0;
    for (let i = 0; i < probe; i++) c += (source[i] ?? 0) * (decoded[i + d] ?? 0);
    if (c > best.corr) best = { delay: d, corr: c };
  }
  let signal = 0;
  let noise = 0;
  for (let i = 0; i + best.delay < decoded.length && i < source.length; i++) {
    const s = source[i]!;
    const e = s - decoded[i + best.delay]!;
    signal += s * s;
    noise += e * e;
  }
  return { snr: 10 * Math.log10(signal / noise), delay: best.delay };
}

function child(lib: LibName): void {
  const t0 = performance.now();
  const loadCpu = process.cpuUsage();
  makeCodec(lib).free();
  const load = { wallMs: performance.now() - t0, cpuMs: cpuMs(process.cpuUsage(loadCpu)) };

  const { samples } = readWavPcm16(SPEECH_60S_WAV);
  const input = frames(samples);
  const audioSeconds = (input.length * FRAME_MS) / 1000;
  global.gc?.();
  const rss0 = process.memoryUsage().rss;
  const live: Codec[] = [];
  for (let i = 0; i < memoryPairs(lib); i++) {
    const c = makeCodec(lib);
    c.decode(c.encode(input[i % input.length]!)); // touch both so lazily created state exists
    live.push(c);
  }
  global.gc?.();
  const rss1 = process.memoryUsage().rss;
  for (const c of live) c.free();
  const perSecond: number[] = [];
  const encodeOnly: number[] = [];
  let decodedAll = new Int16Array(0);
  let packetBytes = 0;
  for (let run = 0; run < RUNS + 1; run++) {
    const codec = makeCodec(lib);
    const packets: Buffer[] = [];
    const c0 = process.cpuUsage();
    for (const f of input) packets.push(codec.encode(f));
    const c1 = process.cpuUsage();
    const decoded: Buffer[] = packets.map((p) => codec.decode(p));
    const c2 = process.cpuUsage();
    codec.free();
    if (run === 0) {
      // warm-up run (JIT, wasm tier-up); keep its output for the quality check
      const joined = Buffer.concat(decoded);
      decodedAll = new Int16Array(joined.buffer, joined.byteOffset, joined.length / 2);
      packetBytes = packets.reduce((n, p) => n + p.length, 0);
      continue;
    }
    perSecond.push(cpuMs(diff(c2, c0)) / audioSeconds);
    encodeOnly.push(cpuMs(diff(c1, c0)) / audioSeconds);
  }
  const quality = snrDb(samples, decodedAll);


  const limit = probeLiveLimit(lib, input[0]!);
  process.stdout.write(
    JSON.stringify({
      lib,
      load,
      cpuMsPerAudioSecond: median(perSecond),
      encodeCpuMsPerAudioSecond: median(encodeOnly),
      kbps: (packetBytes * 8) / audioSeconds / 1000,
      snrDb: quality.snr,
      delaySamples: quality.delay,
      rssKiBPerPair: (rss1 - rss0) / 1024 / memoryPairs(lib),
      limit,
    }),
  );
}

/** Opens encoder+decoder pairs (one per concurrent stream) until one fails; then reuses the first. */
function probeLiveLimit(lib: LibName, frame: Buffer): { pairs: number; error?: string; firstStillWorks: boolean } {
  const live: Codec[] = [];
  let error: string | undefined;
  for (let i = 0; i < LIMIT_PROBE_MAX; i++) {
    try {
      const c = makeCodec(lib);
      live.push(c);
      c.decode(c.encode(frame));
    } catch (err) {
      error = (err as Error).message;
      break;
    }
  }
  let firstStillWorks = true;
  try {
    live[0]!.decode(live[0]!.encode(frame));
  } catch {
    firstStillWorks = false;
  }
  for (const c of live) {
    try {
      c.free();
    } catch {
      // a broken heap may refuse to free; the process ends anyway
    }
  }
  return { pairs: error ? live.length - 1 : live.length, error, firstStillWorks };
}

function diff(a: NodeJS.CpuUsage, b: NodeJS.CpuUsage): NodeJS.CpuUsage {
  return { user: a.user - b.user, system: a.system - b.system };
}
function cpuMs(u: NodeJS.CpuUsage): number {
  return (u.user + u.system) / 1000;
}
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/**
 * Copies @discordjs/opus to a temp dir and runs what `npm install` runs there:
 * `node-pre-gyp install --fallback-to-build` (the prebuilt download is unreachable here, so
 * it compiles libopus + the binding with node-gyp). node-gyp needs Node's headers: without
 * npm's `nodedir` (here /usr, from Debian's nodejs package) it tries to download them.
 */
function timeNativeBuild(nodedir: string | undefined): { ok: boolean; seconds: number; tail: string } {
  const src = path.dirname(require.resolve('@discordjs/opus/package.json'));
  const dir = mkdtempSync(path.join(tmpdir(), 'opus-build-'));
  try {
    cpSync(src, dir, { recursive: true, filter: (p) => !/^(build-tmp|prebuild|build)/.test(path.relative(src, p)) });
    symlinkSync(path.resolve(src, '..', '..'), path.join(dir, 'node_modules'));
    const preGyp = require.resolve('@discordjs/node-pre-gyp/bin/node-pre-gyp');
    const env = { ...process.env };
    delete env.npm_config_nodedir;
    if (nodedir) env.npm_config_nodedir = nodedir;
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [preGyp, 'install', '--fallback-to-build'], { cwd: dir, env, encoding: 'utf8', timeout: 600_000 });
    const seconds = (performance.now() - t0) / 1000;
    // the lines that say what was downloaded, what failed, and whether it ended ok
    const lines = (r.stdout + r.stderr).split('\n').filter((l) => /http GET|ENOTFOUND|network connectivity|falling back|pre-gyp info ok/.test(l));
    return { ok: r.status === 0, seconds, tail: lines.join('\n') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function main(): void {
  const childIndex = process.argv.indexOf('--child');
  if (childIndex >= 0) return child(process.argv[childIndex + 1] as LibName);
  const buildOnly = process.argv.includes('--build-only');
  const results = (buildOnly ? [] : LIBS).map((lib) => {
    const r = spawnSync(process.execPath, [...process.execArgv, '--expose-gc', process.argv[1]!, '--child', lib], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${lib} failed: ${r.stderr}`);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  });
  if (!buildOnly) console.log(`Opus at ${RATE} Hz mono, ${FRAME_MS} ms frames, ${BITRATE / 1000} kbit/s; ${RUNS} runs over speech-60s.wav`);
  if (!buildOnly) console.table(
    results.map((r) => ({
      library: r.lib,
      'CPU ms / audio s (enc+dec)': (r.cpuMsPerAudioSecond as number).toFixed(2),
      'of which encode': (r.encodeCpuMsPerAudioSecond as number).toFixed(2),
      'kbit/s': (r.kbps as number).toFixed(1),
      'SNR dB': (r.snrDb as number).toFixed(1),
      'RSS KiB / enc+dec pair': (r.rssKiBPerPair as number).toFixed(1),
      'first load ms': ((r.load as { wallMs: number }).wallMs).toFixed(0),
    })),
  );
  for (const r of results) {
    const l = r.limit as { pairs: number; error?: string; firstStillWorks: boolean };
    console.log(
      `${r.lib}: ${l.error ? `failed after ${l.pairs} live encoder+decoder pairs ("${l.error}")` : `${l.pairs} live pairs, no failure`}; ` +
        `first pair afterwards: ${l.firstStillWorks ? 'works' : 'BROKEN'}`,
    );
  }
  if (buildOnly || process.argv.includes('--build')) {
    for (const nodedir of ['/usr', undefined]) {
      const b = timeNativeBuild(nodedir);
      console.log(
        `@discordjs/opus install from source, nodedir=${nodedir ?? '(unset)'}: ${b.ok ? 'ok' : 'FAILED'} in ${b.seconds.toFixed(1)} s\n${b.tail}\n`,
      );
    }
  }
}

main();
