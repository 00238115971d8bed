/**
 * Memory of an idle gateway and per idle connected device, measured on the gateway alone: a
 * `voxgate start` process of its own (the compiled dist/, as users run it) with the bench's
 * engines and config (standalone-gateway.ts), not this process, whose heap also holds the
 * bench harness and whatever the earlier phases left. Figures are taken after a full GC in the
 * gateway (through its inspector), from its own /metrics:
 *   - its idle RSS, before any device;
 *   - then WARMUP_DEVICES devices connect and leave (code paths run once, lazy caches filled: a
 *     one-time cost, not a per-device one), N MQTT wearables connect (loopback, a bounded number
 *     connecting at a time), say hello and stay quiet, and (RSS after − before) ÷ N is the
 *     memory per idle device (the JS heap's share too).
 * The devices live in a child process (`voxgate-sim load --idle`).
 */
import type { BenchGateway } from './bench-gateway.ts';
import { startLoad } from './load-child.ts';
import { MB } from './process-usage.ts';
import { startStandaloneGateway, type StandaloneGateway } from './standalone-gateway.ts';

export interface IdleOptions {
  devices: number;
  connectConcurrency: number;
  /** Bound on registering and connecting them all. */
  connectLimitMs: number;
}

export interface IdleResult {
  transport: 'mqtt';
  /** Where it was measured. */
  gateway: string;
  /** The idle gateway's own RSS (no device connected), after GC. */
  gatewayRssMb: number;
  requested: number;
  connected: number;
  /** Time from starting the load process (registering the devices included) to all sessions up. */
  connectS: number;
  rssBeforeMb: number;
  rssAfterMb: number;
  rssPerDeviceKb: number | null;
  heapPerDeviceKb: number | null;
  /** Anything that kept the figure from being complete (limit hit, connect failures). */
  notes: string[];
}

/** Devices that connect and leave before measuring: first-use costs are not per-device costs. */
export const WARMUP_DEVICES = 20;
/** How often the session count is polled while devices connect. */
const POLL_MS = 500;
/** Lets the last sessions' start-up work (store writes, buffers) settle before measuring. */
const SETTLE_MS = 2_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const round = (n: number) => Math.round(n * 10) / 10;

/** The bench gateway's engines and LLM, as environment for `voxgate start` (the user's VOXGATE_* settings first). */
function standaloneEnv(bench: BenchGateway): Record<string, string> {
  const { config } = bench;
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) if (name.startsWith('VOXGATE_') && value !== undefined) env[name] = value;
  delete env.VOXGATE_MQTT_URL;
  delete env.VOXGATE_CONFIG;
  return {
    ...env,
    ...(config.speech.modelsDir ? { VOXGATE_MODELS_DIR: config.speech.modelsDir } : {}),
    VOXGATE_STT: config.speech.stt.join(','),
    VOXGATE_STT_MODEL: config.speech.sherpaStt.model,
    ...(config.speech.vad.model ? { VOXGATE_VAD_MODEL: config.speech.vad.model } : {}),
    VOXGATE_TTS: config.speech.tts.join(','),
    VOXGATE_TTS_VOICE: config.speech.sherpaTts.voice,
    VOXGATE_LLM: config.llm.providers.join(','),
    GROQ_API_KEY: config.groq.apiKey ?? 'bench',
    ...(config.groq.baseUrl ? { GROQ_BASE_URL: config.groq.baseUrl } : {}),
  };
}

async function connectIdle(gateway: StandaloneGateway, prefix: string, devices: number, options: IdleOptions, holdS: number) {
  return startLoad(
    [
      ...['--transport', 'mqtt', '--url', gateway.mqttUrl, '--idle', '--duration', String(holdS)],
      ...['--register', '--data-dir', gateway.dataDir, '--id-prefix', prefix, '--devices', String(devices)],
      ...['--connect-concurrency', String(options.connectConcurrency), '--start-spread', '0'],
    ],
    (holdS + 60) * 1000,
  );
}

export async function runIdlePhase(bench: BenchGateway, options: IdleOptions): Promise<IdleResult> {
  const gateway = await startStandaloneGateway(standaloneEnv(bench));
  const notes: string[] = [];
  try {
    const mqtt = async () => (await gateway.usage()).devices.mqtt ?? 0;
    await sleep(SETTLE_MS);
    await gateway.collectGarbage();
    const idle = await gateway.usage();

    const warmup = await connectIdle(gateway, 'warmup-', WARMUP_DEVICES, options, 3);
    await warmup.report.catch((error: unknown) => notes.push(`warm-up: ${(error as Error).message}`));
    for (let waited = 0; (await mqtt()) > 0 && waited < 30_000; waited += POLL_MS) await sleep(POLL_MS);
    await sleep(SETTLE_MS);
    await gateway.collectGarbage();
    const before = await gateway.usage();

    const started = performance.now();
    const holdS = Math.ceil((options.connectLimitMs + 3 * SETTLE_MS) / 1000) + 30;
    const child = await connectIdle(gateway, 'idle-', options.devices, options, holdS);
    let exited = false;
    void child.report.finally(() => (exited = true)).catch(() => {});
    while ((await mqtt()) < options.devices && !exited && performance.now() - started < options.connectLimitMs) await sleep(POLL_MS);
    const connectS = round((performance.now() - started) / 1000);
    await sleep(SETTLE_MS);
    const connected = await mqtt();
    await gateway.collectGarbage();
    const after = await gateway.usage();
    if (connected < options.devices) notes.push(`only ${connected} of ${options.devices} connected${exited ? ' (the load process ended early)' : ` within ${options.connectLimitMs / 1000} s`}`);
    try {
      const report = await child.stop();
      if (report.connect.failed > 0) notes.push(`${report.connect.failed} connect failure(s), e.g. ${report.connect.failures[0] ?? '?'}`);
    } catch (error) {
      notes.push((error as Error).message);
    }
    const perDeviceKb = (bytes: number) => (connected > 0 ? Math.round(bytes / 1024 / connected) : null);
    return {
      transport: 'mqtt',
      gateway: `voxgate start (dist/), own process; after ${WARMUP_DEVICES} warm-up devices`,
      gatewayRssMb: round(idle.rss / MB),
      requested: options.devices,
      connected,
      connectS,
      rssBeforeMb: round(before.rss / MB),
      rssAfterMb: round(after.rss / MB),
      rssPerDeviceKb: perDeviceKb(after.rss - before.rss),
      heapPerDeviceKb: perDeviceKb(after.heapUsed - before.heapUsed),
      notes,
    };
  } finally {
    await gateway.stop();
  }
}
