/**
 * One soak phase: a gateway (one broker mode) under D looping devices on both transports for
 * a while, faults injected on a schedule, its figures sampled from /metrics; then the drain
 * (loops finish their turns), the probe (every device must complete one more clean turn), the
 * goodbye (every session must close) and the verdict of report.ts.
 */
import type { LoadRecording } from '../../device-sim/load-recordings.ts';
import { FAULT_KINDS, emptyFaultCounts, faultInterval, llmFaultScripts, llmFaultsHit, type FaultCounts, type FaultKind } from './faults.ts';
import { gatewayMetrics, type MetricsSample } from './gateway-metrics.ts';
import { MalformedFrameDevice, type MalformedRound } from './malformed-frames.ts';
import { judgePhase, type MemoryBounds, type PhaseResult } from './report.ts';
import { isOffline, STUCK_GRACE_MS, watchSessions } from './session-watch.ts';
import { SoakDevice, type SoakTurn, type StuckEvent } from './soak-device.ts';
import { SOAK_LLM, startSoakWorld, type BrokerMode } from './soak-world.ts';

export interface PhaseOptions {
  broker: BrokerMode;
  durationMs: number;
  devices: number;
  seed: number;
  bounds: MemoryBounds;
  recordings: readonly LoadRecording[];
  /** Appends the gateway's log (level info) to this file. */
  gatewayLog?: string;
  log(line: string): void;
}

/** Faults start once the devices talk and stop before the end, so the last turns show recovery. */
const FAULTS_FROM = 0.1;
const FAULTS_UNTIL = 0.85;
/** A fault every 15 s in a long run: each of the seven kinds about every 100 s. */
const PREFERRED_FAULT_INTERVAL_MS = 15_000;
/** Memory before this share of the phase (at most 2 min) is warm-up: caches, JIT, first-time paths. */
const WARM_UP_SHARE = 0.2;
const MAX_WARM_UP_MS = 120_000;
/** How long the broker stays down in a restart. */
const BROKER_DOWN_MS = 2_000;
/** A lost MQTT connection within this of a broker restart is the restart's doing. */
const RESTART_ALLOWANCE_MS = 10_000;
/** The drain: a turn in progress ends within the simulator's own limits (≤ 30 s silence) plus the grace. */
const DRAIN_LIMIT_MS = 90_000;

export async function runPhase(options: PhaseOptions): Promise<PhaseResult> {
  const { log } = options;
  const startup = performance.now();
  const world = await startSoakWorld(options.broker, options.devices, options.gatewayLog);
  // Ctrl-C must not leave the gateway, the fake LLM, Mosquitto or the data directory behind.
  // (`on`, not `once`: a second Ctrl-C, or tsx relaying the first, must not kill us mid-cleanup.)
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) return;
    interrupted = true;
    void world.stop().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // The phase's clock (samples, turns, faults) starts once the gateway is up.
  const started = performance.now();
  const clock = () => performance.now() - started;
  log(`${options.broker}: gateway up in ${((started - startup) / 1000).toFixed(1)} s (pid ${world.gateway.pid}); ${options.devices} devices talk for ${Math.round(options.durationMs / 1000)} s`);
  const watch = watchSessions(world.httpUrl, world.apiKey);
  const metrics = gatewayMetrics(world.httpUrl, () => world.gateway.collectGarbage());
  const samples: MetricsSample[] = [];
  const turns: SoakTurn[] = [];
  const stuck: StuckEvent[] = [];
  const faults: FaultCounts = emptyFaultCounts(FAULT_KINDS.filter((k) => k !== 'broker_restart' || world.mosquitto));
  const llmInjections: Array<{ kind: FaultKind; scripts: number }> = [];
  const malformedRounds: MalformedRound[] = [];
  const restarts: Array<{ fromMs: number; toMs: number }> = [];
  const problems: string[] = [];
  const background = new Set<Promise<unknown>>();
  const track = (work: Promise<unknown>) => {
    const settled = work.catch((error: Error) => problems.push(`soak: ${error.message}`)).finally(() => background.delete(settled));
    background.add(settled);
  };
  const addStuck = (event: StuckEvent) => {
    const recentTurns = turns.filter((t) => t.device === event.device).slice(-3).map((t) => `${t.kind} turn ended ${t.outcome} at ${(t.endedAtMs / 1000).toFixed(1)} s`);
    stuck.push({ ...event, recentTurns, gatewayLog: world.gateway.log.byDevice.get(event.device)?.slice(-12) ?? [] });
    log(`STUCK ${event.device} (${event.transport}) at ${(event.atMs / 1000).toFixed(1)} s: ${event.what}`);
  };
  const brokerRestartedSince = (sinceMs: number) => restarts.some((r) => r.toMs + RESTART_ALLOWANCE_MS >= sinceMs);

  let stopReason: string | undefined;
  let devices: SoakDevice[] = [];
  let malformed: MalformedFrameDevice[] = [];
  let noDevicesBefore: MetricsSample | undefined;
  let noDevicesAfter: MetricsSample | undefined;
  let loopEndSample: MetricsSample | undefined;
  let gatewayStop = { ms: 0, killed: false };
  const warmUpMs = Math.min(MAX_WARM_UP_MS, options.durationMs * WARM_UP_SHARE);
  try {
    noDevicesBefore = await metrics.sample(clock(), true);
    const transports = ['websocket', 'mqtt'] as const;
    devices = world.devices.map(
      (credentials, index) =>
        new SoakDevice({
          credentials,
          transport: transports[index % 2]!,
          url: world.url(transports[index % 2]!),
          prefix: world.config.mqttTopicPrefix,
          recordings: options.recordings,
          index,
          seed: options.seed * 1000 + index,
          watch,
          graceMs: STUCK_GRACE_MS,
          clock,
          brokerRestartedSince,
          onTurn: (turn) => turns.push(turn),
          onStuck: addStuck,
        }),
    );
    malformed = world.malformed.map(
      (credentials, index) =>
        new MalformedFrameDevice(transports[index % 2]!, world.url(transports[index % 2]!), credentials, world.config.mqttTopicPrefix, world.config.limits.maxAudioFrameBytes),
    );

    const loopsStop = new AbortController();
    const loops = devices.map((device) =>
      device.run(loopsStop.signal).catch((error: Error) => problems.push(`soak device ${device.id}: ${error.stack ?? error.message}`)),
    );

    // The schedule: samples, faults, and the end.
    const sampleEveryMs = Math.min(10_000, Math.max(2_000, options.durationMs / 30));
    const faultKinds = Object.keys(faults) as FaultKind[];
    const faultWindow = options.durationMs * (FAULTS_UNTIL - FAULTS_FROM);
    const faultEveryMs = faultInterval(faultWindow, faultKinds.length, PREFERRED_FAULT_INTERVAL_MS);
    let nextSample = sampleEveryMs;
    let nextFault = options.durationMs * FAULTS_FROM;
    let faultIndex = 0;
    let dropIndex = 0;
    const inject = (kind: FaultKind) => {
      faults[kind].injected += 1;
      switch (kind) {
        case 'llm_500':
        case 'llm_stall_before_first_token':
        case 'llm_stall_mid_reply': {
          const scripts = llmFaultScripts(kind, SOAK_LLM.reply, world.config.llm.maxRetries, 1000 / SOAK_LLM.tokensPerSecond);
          llmInjections.push({ kind, scripts: scripts.length });
          world.llm.enqueue(...scripts);
          return;
        }
        case 'tts_failure':
          return track(world.gateway.failTts(1));
        case 'disconnect_mid_reply': {
          const candidates = devices.filter((d) => !d.dropPending);
          const target = candidates[dropIndex++ % Math.max(1, candidates.length)];
          return target?.armDrop();
        }
        case 'malformed_frames':
          for (const device of malformed) {
            const from = clock();
            track(
              device.round().then((round) => {
                malformedRounds.push(round);
                if (!round.problem) return;
                if (device.transport === 'mqtt' && brokerRestartedSince(from)) return; // the restart cut it
                addStuck({ device: device.id, transport: device.transport, atMs: Math.round(clock()), what: `malformed-frame round: ${round.problem}` });
              }),
            );
          }
          return;
        case 'broker_restart': {
          const restart = { fromMs: clock(), toMs: Infinity };
          restarts.push(restart);
          return track(world.mosquitto!.restart(BROKER_DOWN_MS).finally(() => (restart.toMs = clock())));
        }
      }
    };

    while (clock() < options.durationMs) {
      if (world.gateway.exit) {
        stopReason = `the gateway exited during the run (${world.gateway.exit.signal ?? `code ${world.gateway.exit.code}`})`;
        break;
      }
      if (clock() >= nextFault && clock() < options.durationMs * FAULTS_UNTIL) {
        inject(faultKinds[faultIndex++ % faultKinds.length]!);
        nextFault += faultEveryMs;
      }
      if (clock() >= nextSample) {
        nextSample += sampleEveryMs;
        try {
          samples.push(await metrics.sample(clock(), true));
        } catch (error) {
          problems.push(`metrics: ${(error as Error).message}`);
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    log(`${options.broker}: ${turns.length} turns; draining at ${(clock() / 1000).toFixed(1)} s`);

    // The drain: loops finish their turns, fault actions their work.
    loopsStop.abort();
    await withLimit(Promise.all([...loops, ...background]), DRAIN_LIMIT_MS, () => problems.push(`soak: devices still busy ${DRAIN_LIMIT_MS} ms after the end`));
    const leftoverScripts = await world.llm.clear();
    for (const [kind, hit] of llmFaultsHit(llmInjections, leftoverScripts)) faults[kind].hit = hit;
    faults.tts_failure.hit = faults.tts_failure.injected - (await world.gateway.clearTts().catch(() => 0));
    faults.disconnect_mid_reply.hit = devices.reduce((n, d) => n + d.dropsDone, 0);
    faults.malformed_frames.hit = Math.floor(malformedRounds.filter((r) => !r.problem).length / Math.max(1, malformed.length));
    if (faults.broker_restart) faults.broker_restart.hit = restarts.filter((r) => Number.isFinite(r.toMs)).length;
    if (!world.gateway.exit) loopEndSample = await metrics.sample(clock(), true);

    log(`${options.broker}: drained at ${(clock() / 1000).toFixed(1)} s; probing`);
    // The probe: every device completes one more clean turn, every malformed-frame device answers a ping.
    if (!world.gateway.exit) {
      await Promise.all([
        ...devices.map(async (device) => {
          const failure = await device.probe().catch((error: Error) => error.message);
          if (failure) addStuck({ device: device.id, transport: device.transport, atMs: Math.round(clock()), what: `probe turn: ${failure}` });
        }),
        ...malformed.map(async (device) => {
          const failure = await device.alive();
          if (failure) addStuck({ device: device.id, transport: device.transport, atMs: Math.round(clock()), what: `ping after the run: ${failure}` });
        }),
      ]);
    }
    log(`${options.broker}: probed at ${(clock() / 1000).toFixed(1)} s; closing`);
    // The goodbye: every session closes.
    await Promise.all([...devices, ...malformed].map((device) => device.close().catch(() => {})));
    const goneSince = performance.now();
    for (const device of [...devices, ...malformed]) {
      if (world.gateway.exit) break;
      if (!(await watch.waitFor(device.id, isOffline, goneSince, STUCK_GRACE_MS))) {
        addStuck({ device: device.id, transport: device.transport, atMs: Math.round(clock()), what: `its session was still open ${STUCK_GRACE_MS} ms after goodbye` });
      }
    }
    if (!world.gateway.exit) noDevicesAfter = await metrics.sample(clock(), true);
  } catch (error) {
    stopReason ??= `soak failed: ${(error as Error).stack ?? String(error)}`;
  } finally {
    watch.stop();
    gatewayStop = await world.stop();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    log(`${options.broker}: stopped at ${(clock() / 1000).toFixed(1)} s`);
  }
  if (watch.failures.count > 0) problems.push(`/api/devices did not answer ${watch.failures.count} poll(s): ${watch.failures.last}`);

  return judgePhase({
    broker: options.broker,
    durationMs: Math.round(clock()),
    loopMs: options.durationMs,
    warmUpMs,
    devices: { websocket: devices.filter((d) => d.transport === 'websocket').length, mqtt: devices.filter((d) => d.transport === 'mqtt').length },
    setup: world.setup,
    turns,
    faults,
    malformedRounds,
    samples,
    noDevicesBefore,
    loopEndSample,
    noDevicesAfter,
    stuck,
    bounds: options.bounds,
    gatewayLog: world.gateway.log,
    gatewayStop,
    stopReason,
    problems,
  });
}

async function withLimit(work: Promise<unknown>, limitMs: number, onLimit: () => void): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work, new Promise<void>((resolve) => (timer = setTimeout(() => (onLimit(), resolve()), limitMs)))]);
  clearTimeout(timer);
}
