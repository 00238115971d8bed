/**
 * The gateway's Prometheus metrics (prom-client, one registry per gateway so tests can run
 * several side by side): connected devices by transport (read at scrape time), turns by
 * outcome, errors by code (sent to devices or answered over HTTP), the turn stages of
 * TurnTimings as histograms, preemptive generation's speculations (started, committed,
 * discarded by reason: each discarded one was an LLM call nobody heard), the STT real-time
 * factor, HTTP requests, and Node's default process metrics (nodejs_eventloop_lag_* is the
 * event-loop lag).
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { DeviceLink, SessionOpener, TransportName } from '../session/link.ts';
import type { SessionEvents, SpeculationDiscardReason } from '../session/events.ts';
import type { TurnRecord } from '../store/types.ts';
import type { HttpObserver } from './http-server.ts';

/** Spoken-turn latencies: 50 ms (fast local STT) to 10 s (a slow cloud LLM). */
const STAGE_BUCKETS_SECONDS = [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10];
/** Processing time / audio time: well under 0.1 for a small model on a PC; over 1 means it cannot keep up. */
const RTF_BUCKETS = [0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 5];
const TRANSPORTS: readonly TransportName[] = ['websocket', 'mqtt'];
const OUTCOMES: readonly TurnRecord['outcome'][] = ['completed', 'empty', 'aborted', 'error'];
const DISCARD_REASONS: readonly SpeculationDiscardReason[] = ['changed', 'empty', 'failed', 'stt_failed', 'aborted'];

export type RtfSource = 'http' | 'device';

export interface GatewayMetrics {
  readonly registry: Registry;
  /** Feeds turn metrics; give it to the session hub (combine with others: combineSessionEvents in session/events.ts). */
  readonly sessionEvents: SessionEvents;
  /** Feeds request and error counts; give it to the HTTP server's observe(). */
  readonly httpObserver: HttpObserver;
  /** Wraps a SessionOpener so every `error` message sent to a device is counted by code. */
  instrumentOpener(opener: SessionOpener): SessionOpener;
  /** Where connected devices are read from at scrape time. */
  trackConnectedDevices(source: () => ReadonlyArray<{ transport: TransportName }>): void;
  /** Where the count of log lines dropped by a stalled log destination is read from at scrape time. */
  trackDroppedLogLines(source: () => number): void;
  observeSttRealTimeFactor(source: RtfSource, rtf: number): void;
  /** The text exposition and its content type. */
  render(): Promise<{ contentType: string; body: string }>;
}

export function createGatewayMetrics(): GatewayMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  let connected: () => ReadonlyArray<{ transport: TransportName }> = () => [];
  let droppedLogLines: () => number = () => 0;
  let droppedLogLinesSeen = 0;

  new Gauge({
    name: 'voxgate_connected_devices',
    help: 'Devices with a session (said hello or connecting), by transport.',
    labelNames: ['transport'],
    registers: [registry],
    collect() {
      const counts = new Map<string, number>(TRANSPORTS.map((t) => [t, 0]));
      for (const device of connected()) counts.set(device.transport, (counts.get(device.transport) ?? 0) + 1);
      for (const [transport, n] of counts) this.set({ transport }, n);
    },
  });
  new Counter({
    name: 'voxgate_log_lines_dropped_total',
    help: 'Log lines dropped because the log destination (stdout) was not reading or was gone.',
    registers: [registry],
    collect() {
      const now = droppedLogLines();
      if (now > droppedLogLinesSeen) this.inc(now - droppedLogLinesSeen);
      droppedLogLinesSeen = now;
    },
  });
  const turns = new Counter({
    name: 'voxgate_turns_total',
    help: 'Finished turns by kind (audio/text) and outcome (completed/empty/aborted/error).',
    labelNames: ['kind', 'outcome'],
    registers: [registry],
  });
  for (const kind of ['audio', 'text']) for (const outcome of OUTCOMES) turns.inc({ kind, outcome }, 0);
  const errors = new Counter({
    name: 'voxgate_errors_total',
    help: 'Errors by code: `device` = error messages sent to devices, `http` = HTTP API error answers.',
    labelNames: ['source', 'code'],
    registers: [registry],
  });
  const stage = (name: string, help: string) =>
    new Histogram({ name, help, labelNames: ['kind'], buckets: STAGE_BUCKETS_SECONDS, registers: [registry] });
  const releaseToFinal = stage('voxgate_turn_release_to_final_seconds', 'Talk button released → final transcript.');
  const releaseToFirstToken = stage('voxgate_turn_release_to_first_token_seconds', 'Talk button released (or text received) → first LLM token.');
  const releaseToFirstAudio = stage('voxgate_turn_release_to_first_audio_seconds', 'Talk button released (or text received) → first reply audio sent.');
  const turnTotal = stage('voxgate_turn_duration_seconds', 'Turn start → turn end.');
  const rtf = new Histogram({
    name: 'voxgate_stt_real_time_factor',
    help: 'Speech recognition time / audio duration for clips transcribed whole (source `http`).',
    labelNames: ['source'],
    buckets: RTF_BUCKETS,
    registers: [registry],
  });
  const speculationsStarted = new Counter({
    name: 'voxgate_speculations_started_total',
    help: 'Preemptive generation: speculative replies started (an LLM request each) before the user released the button.',
    registers: [registry],
  });
  const speculationsCommitted = new Counter({
    name: 'voxgate_speculations_committed_total',
    help: 'Speculative replies that matched the final transcript and became the reply.',
    registers: [registry],
  });
  const speculationsDiscarded = new Counter({
    name: 'voxgate_speculations_discarded_total',
    help: 'Speculative replies thrown away unheard, by reason (changed/empty/failed/stt_failed/aborted): the extra LLM calls preemption cost.',
    labelNames: ['reason'],
    registers: [registry],
  });
  speculationsStarted.inc(0);
  speculationsCommitted.inc(0);
  for (const reason of DISCARD_REASONS) speculationsDiscarded.inc({ reason }, 0);
  const requests = new Counter({
    name: 'voxgate_http_requests_total',
    help: 'HTTP requests by method, route and status.',
    labelNames: ['method', 'route', 'status'],
    registers: [registry],
  });

  const seconds = (ms: number | undefined) => (ms === undefined ? undefined : ms / 1000);
  const observe = (histogram: Histogram, kind: string, value: number | undefined) => {
    if (value !== undefined && Number.isFinite(value) && value >= 0) histogram.observe({ kind }, value);
  };

  const sessionEvents: SessionEvents = {
    turnRecorded(record) {
      const t = record.timings ?? {};
      turns.inc({ kind: record.kind, outcome: record.outcome });
      observe(releaseToFinal, record.kind, seconds(t.releaseToFinalMs));
      if (t.finalToFirstTokenMs !== undefined) {
        // A preempted reply may have had its first token before release: it was there at release, 0 s.
        const ms = (t.releaseToFinalMs ?? 0) + t.finalToFirstTokenMs;
        observe(releaseToFirstToken, record.kind, seconds(t.preempted ? Math.max(0, ms) : ms));
      }
      observe(releaseToFirstAudio, record.kind, seconds(t.releaseToFirstAudioMs));
      observe(turnTotal, record.kind, seconds(t.totalMs));
    },
    speculation(e) {
      if (e.event === 'discarded') speculationsDiscarded.inc({ reason: e.reason });
      else if (e.event === 'started') speculationsStarted.inc();
      else speculationsCommitted.inc();
    },
  };

  const countingLink = (link: DeviceLink): DeviceLink => ({
    get deviceId() {
      return link.deviceId;
    },
    get transport() {
      return link.transport;
    },
    get capabilities() {
      return link.capabilities;
    },
    send(message) {
      if (message.type === 'error') errors.inc({ source: 'device', code: message.code });
      link.send(message);
    },
    sendAudio: (packet, turn, seq) => link.sendAudio(packet, turn, seq),
    close: (reason) => link.close(reason),
  });

  return {
    registry,
    sessionEvents,
    httpObserver: {
      response: (e) => requests.inc({ method: e.method, route: e.route, status: String(e.status) }),
      error: (e) => errors.inc({ source: 'http', code: e.code }),
    },
    instrumentOpener: (opener) => (link) => opener(countingLink(link)),
    trackConnectedDevices(source) {
      connected = source;
    },
    trackDroppedLogLines(source) {
      droppedLogLines = source;
    },
    observeSttRealTimeFactor(source, value) {
      if (Number.isFinite(value) && value >= 0) rtf.observe({ source }, value);
    },
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
