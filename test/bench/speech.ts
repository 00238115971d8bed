/**
 * `npm run bench:speech`: speed of every speech provider available on this machine.
 *   STT: real-time factor (one stream, as fast as it decodes), worker pool throughput
 *        (concurrent streams fed at real time; "held" = each final arrives < 500 ms after
 *        its turn ends), and event-loop lag on the main thread meanwhile.
 *   VAD: Silero cost per 20 ms frame on one thread (the gateway runs it on the STT worker that gates the turn, or on a codec worker).
 *   TTS: first-audio latency of a sentence and real-time factor.
 * Event-loop lag is what monitorEventLoopDelay sees beyond its own 10 ms timer interval.
 * Uses the configured models (VOXGATE_MODELS_DIR etc.) when installed, else the test
 * fixture models (format-faithful, tiny: their figures measure our plumbing, not a real
 * model's arithmetic).
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { loadConfig } from '../../gateway/config.ts';
import { EspeakTtsProvider } from '../../gateway/speech/espeak-tts.ts';
import { resolveModelsDir } from '../../gateway/speech/models/paths.ts';
import { SherpaSttProvider } from '../../gateway/speech/sherpa/sherpa-stt.ts';
import { SherpaTtsProvider } from '../../gateway/speech/sherpa/sherpa-tts.ts';
import { findEspeakDataDir } from '../../gateway/speech/espeak-data.ts';
import type { SttProvider, TtsProvider } from '../../gateway/speech/types.ts';
import { SileroTurnEndDetectorFactory } from '../../gateway/speech/vad/turn-end.ts';
import { speech60s } from '../speech/helpers/audio.ts';
import { sttModel as benchSttModel, ttsVoice as benchTtsVoice, vadModel as benchVadModel } from './bench-models.ts';
import { LAG_RESOLUTION_MS, lagSummary } from './loop-lag.ts';

const logger = pino({ level: 'silent' });
const config = loadConfig({ env: process.env });
const modelsDir = resolveModelsDir(config);
const FRAME = 320; // 20 ms at 16 kHz
/** A final later than this after the end of a turn means the pool is falling behind. */
const HELD_LATENCY_MS = 500;
const rows: string[][] = [];
const row = (...cells: Array<string | number>) => rows.push(cells.map(String));

const sttModel = () => benchSttModel(config);
const ttsVoice = () => {
  const { model, label } = benchTtsVoice(config);
  return { voice: model, label };
};
const vadModel = benchVadModel(config);
const vad = { model: vadModel, threshold: 0.5, silenceMs: 700, minSpeechMs: 250 };

async function startStt(model: string, workers: number, gate: boolean): Promise<SherpaSttProvider> {
  const provider = new SherpaSttProvider({
    settings: { ...config.speech.sherpaStt, model, workers, gate },
    modelsDir,
    vad: gate ? vad : undefined,
    modelLoadTimeoutMs: 120_000,
    logger,
  });
  await provider.start();
  if (!provider.health().ready) throw new Error(provider.health().detail);
  return provider;
}

async function realTimeFactor(provider: SttProvider, audio: Float32Array): Promise<number> {
  const started = performance.now();
  const stream = provider.createStream({ signal: new AbortController().signal });
  for (let i = 0; i < audio.length; i += FRAME) stream.push(audio.subarray(i, i + FRAME));
  await stream.finish();
  return (performance.now() - started) / 1000 / (audio.length / 16000);
}

/** Feeds `count` streams at real time for `seconds`; returns the worst final latency and loop lag. */
async function heldAtRealTime(provider: SttProvider, count: number, seconds: number, audio: Float32Array) {
  const lag = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
  lag.enable();
  const streams = Array.from({ length: count }, () => provider.createStream({ signal: new AbortController().signal }));
  const frames = Math.floor((seconds * 16000) / FRAME);
  const start = performance.now();
  for (let f = 0; f < frames; f++) {
    // Each stream starts at a different place in the recording.
    streams.forEach((s, i) => {
      const at = ((f + i * 97) * FRAME) % (audio.length - FRAME);
      s.push(audio.subarray(at, at + FRAME));
    });
    const due = start + (f + 1) * 20;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  const ended = performance.now();
  const latencies = await Promise.all(streams.map((s) => s.finish().then(() => performance.now() - ended)));
  lag.disable();
  return { worstFinalMs: Math.max(...latencies), lag: lagSummary(lag) };
}

async function benchStt(): Promise<void> {
  const { model, label } = sttModel();
  const audio = speech60s();
  for (const gate of [false, true]) {
    const provider = await startStt(model, 1, gate);
    await realTimeFactor(provider, audio.subarray(0, 16000)); // warm-up
    const rtf = await realTimeFactor(provider, audio);
    row('STT sherpa', `${label}${gate ? ' + Silero gate' : ''}`, 'RTF (60 s, 1 stream)', rtf.toFixed(4));
    await provider.close();
  }
  const workers = Math.max(1, Math.min(4, os.availableParallelism() - 1));
  const provider = await startStt(model, workers, true);
  let held = 0;
  for (const count of [1, 4, 8, 16, 32, 64]) {
    const r = await heldAtRealTime(provider, count, 6, audio);
    row('STT sherpa', `${label}, ${workers} worker(s), gate`, `${count} streams at real time`, `final +${r.worstFinalMs.toFixed(0)} ms, loop lag ${r.lag}`);
    if (r.worstFinalMs > HELD_LATENCY_MS) break;
    held = count;
  }
  row('STT sherpa', `${label}, ${workers} worker(s), gate`, 'streams held at real time', held);
  await provider.close();
}

function benchVad(): void {
  if (!existsSync(vadModel)) {
    row('VAD silero', '-', 'not installed', '-');
    return;
  }
  const factory = new SileroTurnEndDetectorFactory(vad);
  const audio = speech60s();
  let detector = factory.create();
  let worst = 0;
  let total = 0;
  let frames = 0;
  for (let i = 0; i + FRAME <= audio.length; i += FRAME, frames++) {
    const t = performance.now();
    // An ended detector stops running Silero: start a new turn so every frame is measured.
    if (detector.accept(audio.subarray(i, i + FRAME))) detector = factory.create();
    const ms = performance.now() - t;
    total += ms;
    worst = Math.max(worst, ms);
  }
  const mean = total / frames;
  row('VAD silero', 'turn-end detector (one thread)', 'per 20 ms frame', `mean ${(mean * 1000).toFixed(0)} µs, max ${(worst * 1000).toFixed(0)} µs`);
}

async function benchTts(name: string, provider: TtsProvider): Promise<void> {
  const sentence = 'Sure, the kitchen light is on now, and the front door is locked.';
  const signal = new AbortController().signal;
  await provider.synthesize('Warm up.', { signal });
  const latencies: number[] = [];
  let rtf = 0;
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    const audio = await provider.synthesize(sentence, { signal });
    const ms = performance.now() - t;
    latencies.push(ms);
    rtf = ms / 1000 / (audio.samples.length / audio.sampleRate);
  }
  latencies.sort((a, b) => a - b);
  row(`TTS ${provider.name}`, name, 'first audio (one sentence, median of 5)', `${latencies[2]!.toFixed(1)} ms`);
  row(`TTS ${provider.name}`, name, 'RTF', rtf.toFixed(4));
  const lag = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
  lag.enable();
  const t = performance.now();
  await Promise.all(Array.from({ length: 32 }, () => provider.synthesize(sentence, { signal })));
  const ms = performance.now() - t;
  lag.disable();
  row(`TTS ${provider.name}`, name, '32 sentences at once', `${ms.toFixed(0)} ms, loop lag ${lagSummary(lag)}`);
}

async function main(): Promise<void> {
  console.error(`voxgate speech benchmark — ${os.cpus()[0]?.model ?? 'cpu'} × ${os.availableParallelism()}, node ${process.version}`);
  await benchStt();
  benchVad();
  const { voice, label } = ttsVoice();
  const sherpaTts = new SherpaTtsProvider({ settings: { ...config.speech.sherpaTts, voice }, modelsDir, espeakDataDir: findEspeakDataDir(config.speech.espeak.dataDir), modelLoadTimeoutMs: 120_000, logger });
  await sherpaTts.start();
  if (sherpaTts.health().ready) await benchTts(label, sherpaTts);
  else row('TTS sherpa', label, 'unavailable', sherpaTts.health().detail ?? '');
  await sherpaTts.close();
  const espeak = new EspeakTtsProvider(config.speech.espeak, logger);
  await espeak.start();
  if (espeak.health().ready) await benchTts(`espeak-ng ${config.speech.espeak.voice}`, espeak);
  else row('TTS espeak', '-', 'unavailable', espeak.health().detail ?? '');
  await espeak.close();
  row('STT groq', config.groq.whisperModel, config.groq.apiKey ? 'cloud: not benchmarked (depends on the network)' : 'not configured (GROQ_API_KEY)', '-');

  const widths = [0, 1, 2, 3].map((c) => Math.max(...rows.map((r) => r[c]!.length), 8));
  const line = (r: string[]) => `| ${r.map((cell, c) => cell.padEnd(widths[c]!)).join(' | ')} |`;
  console.log(line(['provider', 'model', 'measure', 'result']));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
}

await main();
