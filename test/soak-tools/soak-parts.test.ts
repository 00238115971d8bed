/**
 * The soak's parts without running the soak: its stuck detector against a real in-process
 * gateway (a wedged TTS must be reported, a healthy one not), the verdict (memory bound, stuck,
 * crash), and the arithmetic behind its figures (slope, Prometheus parsing, fault attribution).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { encodeMic } from '../../device-sim/audio-encoder.ts';
import type { LoadRecording } from '../../device-sim/load-recordings.ts';
import type { TurnResult } from '../../device-sim/turn-result.ts';
import { ProviderError } from '../../gateway/providers.ts';
import type { SynthesisOptions, SynthesizedAudio, TtsProvider } from '../../gateway/speech/types.ts';
import { speechClip } from '../e2e/audio.ts';
import { disposeGatewaysAfterEach, E2eGateway } from '../e2e/harness.ts';
import { FakeResponder } from '../fakes/fake-responder.ts';
import { FakeStt } from '../fakes/fake-stt.ts';
import { FakeTts } from '../fakes/fake-tts.ts';
import { faultInterval, llmFaultScripts, llmFaultsHit } from '../soak/faults.ts';
import { byLabel, parsePrometheus, slopePerMinute, type MetricsSample } from '../soak/gateway-metrics.ts';
import { DEFAULT_BOUNDS, judgePhase, type PhaseInput } from '../soak/report.ts';
import { watchSessions, type SessionWatch } from '../soak/session-watch.ts';
import { classifyTurn, SoakDevice, type SoakTurn, type StuckEvent } from '../soak/soak-device.ts';

disposeGatewaysAfterEach();

/** A TTS that never answers (and ignores the abort) until released: a wedged engine. */
class WedgedTts implements TtsProvider {
  readonly name = 'wedged-tts';
  private readonly waiting: Array<(error: Error) => void> = [];
  health() {
    return { name: this.name, ready: true };
  }
  voices() {
    return [{ id: 'none', provider: this.name, sampleRate: 16000 }];
  }
  synthesize(_text: string, _options: SynthesisOptions): Promise<SynthesizedAudio> {
    return new Promise((_resolve, reject) => this.waiting.push(reject));
  }
  release(): void {
    for (const reject of this.waiting.splice(0)) reject(new ProviderError('released', true, 'unavailable'));
  }
}

async function recording(): Promise<LoadRecording> {
  const samples = await speechClip(1);
  return { name: 'clip', file: 'speech-60s.wav', samples, mic: encodeMic(samples, 'opus', 60) };
}

const watches: SessionWatch[] = [];
afterEach(() => watches.splice(0).forEach((w) => w.stop()));

/** One SoakDevice against `gw` until it has finished `turnsWanted` turns or reported stuck. */
async function soakOneDevice(gw: E2eGateway, turnsWanted: number, graceMs: number) {
  const credentials = gw.addDevice(`soak-unit-${Math.random().toString(36).slice(2, 8)}`);
  const watch = watchSessions(`http://127.0.0.1:${gw.gateway.httpPort}`, gw.gateway.store.apiKeys.create().key);
  watches.push(watch);
  const turns: SoakTurn[] = [];
  const stuck: StuckEvent[] = [];
  const stop = new AbortController();
  const started = performance.now();
  const device = new SoakDevice({
    credentials,
    transport: 'websocket',
    url: gw.url('websocket'),
    prefix: gw.config.mqttTopicPrefix,
    recordings: [await recording()],
    index: 0,
    seed: 7,
    watch,
    graceMs,
    timeouts: { replyStartMs: 1_500, finalMs: 5_000 },
    clock: () => performance.now() - started,
    brokerRestartedSince: () => false,
    onTurn: (turn) => {
      turns.push(turn);
      if (turns.length >= turnsWanted) stop.abort();
    },
    onStuck: (event) => {
      stuck.push(event);
      stop.abort();
    },
  });
  await device.run(stop.signal);
  await device.close();
  return { turns, stuck };
}

describe('soak stuck detector (real gateway in process)', () => {
  it('reports a device whose session stays busy after its turn timed out', async () => {
    const tts = new WedgedTts();
    const gw = await E2eGateway.start({ engines: { stt: new FakeStt(), tts, responder: new FakeResponder() }, logLevel: 'silent' });
    try {
      const { turns, stuck } = await soakOneDevice(gw, 5, 1_500);
      expect(turns).toHaveLength(1);
      expect(turns[0]!.outcome).toBe('timeout');
      expect(stuck).toHaveLength(2);
      expect(stuck[0]!.what).toMatch(/^its [a-z-]+ turn went unanswered \(no (tts start|reply) within 1500 ms/);
      expect(stuck[1]!.what).toMatch(/its session was not idle after a turn that ended timeout within 1500 ms \(gateway says: (thinking|speaking)\)/);
    } finally {
      tts.release();
    }
  });

  it('reports nothing when every turn ends and the session is idle again', async () => {
    const gw = await E2eGateway.start({ engines: { stt: new FakeStt(), tts: new FakeTts({ msPerChar: 5 }), responder: new FakeResponder() }, logLevel: 'silent' });
    const { turns, stuck } = await soakOneDevice(gw, 4, 5_000);
    expect(stuck).toEqual([]);
    expect(turns).toHaveLength(4);
    for (const turn of turns) expect(['completed', 'aborted by barge-in']).toContain(turn.outcome);
  });
});

const sample = (atMs: number, rssMb: number, heapUsedMb: number): MetricsSample => ({
  atMs,
  rssMb,
  heapUsedMb,
  externalMb: 5,
  handles: 10,
  lagP99Ms: 2,
  lagMaxMs: 5,
  afterGc: true,
  turns: {},
  deviceErrors: {},
  connected: 4,
});

function phaseInput(overrides: Partial<PhaseInput>): PhaseInput {
  return {
    broker: 'embedded',
    durationMs: 730_000,
    loopMs: 720_000,
    warmUpMs: 60_000,
    devices: { websocket: 2, mqtt: 2 },
    setup: { stt: 'fixture', sttReal: false, vad: 'silero_vad.onnx', tts: 'espeak-ng en-us' },
    turns: [],
    faults: { llm_500: { injected: 1, hit: 1 } } as PhaseInput['faults'],
    malformedRounds: [],
    samples: [],
    noDevicesBefore: sample(0, 100, 20),
    loopEndSample: undefined,
    noDevicesAfter: sample(730_000, 100, 20),
    stuck: [],
    bounds: DEFAULT_BOUNDS,
    gatewayLog: { byLevel: {}, messages: {}, tail: [], byDevice: new Map() },
    gatewayStop: { ms: 50, killed: false },
    stopReason: undefined,
    problems: [],
    ...overrides,
  };
}

/** Samples every 10 s for 12 min, growing by `rssPerMin` / `heapPerMin`. */
const growing = (rssPerMin: number, heapPerMin: number) =>
  Array.from({ length: 73 }, (_, i) => sample(i * 10_000, 200 + (rssPerMin * i) / 6, 30 + (heapPerMin * i) / 6));

describe('soak verdict', () => {
  it('passes a flat gateway and reports its slope from the samples after warm-up', () => {
    const result = judgePhase(phaseInput({ samples: growing(0.5, 0.1) }));
    expect(result.failures).toEqual([]);
    expect(result.memory).toMatchObject({ heapJudged: true, rssJudged: true, samples: 67, rssSlopeMbPerMin: 0.5, heapSlopeMbPerMin: 0.1 });
    expect(result.memory.start).toMatchObject({ atS: 60 });
    expect(result.memory.end).toMatchObject({ atS: 720 });
  });

  it('fails a heap or RSS that grows past its bound', () => {
    expect(judgePhase(phaseInput({ samples: growing(0, 2) })).failures).toEqual(['heap grew 2 MB/min after warm-up (bound 1)']);
    expect(judgePhase(phaseInput({ samples: growing(5, 0) })).failures).toEqual(['RSS grew 5 MB/min after warm-up (bound 3)']);
  });

  it('reports but does not judge memory over a window too short for a slope: RSS needs 10 min, the heap 2', () => {
    const short = judgePhase(phaseInput({ warmUpMs: 5_000, samples: growing(50, 50).slice(0, 7) }));
    expect(short.memory).toMatchObject({ heapJudged: false, rssJudged: false });
    expect(short.memory.note).toBe('not judged over 0.8 min after warm-up (6 samples): heap needs 2 min, RSS needs 10 min and 5 samples');
    expect(short.failures).toEqual([]);
    const fiveMinutes = judgePhase(phaseInput({ samples: growing(50, 0).slice(0, 31) }));
    expect(fiveMinutes.memory).toMatchObject({ heapJudged: true, rssJudged: false, rssSlopeMbPerMin: 50 });
    expect(fiveMinutes.failures).toEqual([]);
  });

  it('fails on a stuck device, a crash, a gateway that would not stop, and its own problems', () => {
    const stuck = [{ device: 'soak-0001', transport: 'mqtt' as const, atMs: 1, what: 'its session was not idle' }];
    const result = judgePhase(
      phaseInput({ stuck, stopReason: 'the gateway exited during the run (SIGSEGV)', gatewayStop: { ms: 10_000, killed: true }, problems: ['metrics: /metrics answered 500'] }),
    );
    expect(result.failures).toEqual([
      'the gateway exited during the run (SIGSEGV)',
      '1 device(s) stuck: soak-0001',
      'the gateway did not exit within 10 s of SIGTERM (killed)',
      'metrics: /metrics answered 500',
    ]);
  });

  it('counts turns by outcome and transport, and the gateway counters over the phase', () => {
    const turn = (outcome: string, transport: 'websocket' | 'mqtt'): SoakTurn => ({ device: 'd', transport, kind: 'audio', outcome, endedAtMs: 1, totalMs: 1 });
    const before = { ...sample(0, 1, 1), turns: { completed: 3 }, deviceErrors: { llm_unavailable: 1 } };
    const after = { ...sample(1, 1, 1), turns: { completed: 10, error: 2 }, deviceErrors: { llm_unavailable: 3 } };
    const result = judgePhase(
      phaseInput({ turns: [turn('completed', 'mqtt'), turn('error llm_unavailable', 'mqtt'), turn('completed', 'websocket')], noDevicesBefore: before, noDevicesAfter: after }),
    );
    expect(result.turns).toEqual({
      total: 3,
      completed: 2,
      failed: 1,
      byOutcome: { completed: 2, 'error llm_unavailable': 1 },
      byTransport: { mqtt: { turns: 2, completed: 1 }, websocket: { turns: 1, completed: 1 } },
    });
    expect(result.gateway.turnsByOutcome).toEqual({ completed: 7, error: 2 });
    expect(result.gateway.errorsByCode).toEqual({ llm_unavailable: 2 });
  });
});

describe('soak arithmetic', () => {
  it('fits a least-squares slope per minute', () => {
    expect(slopePerMinute([{ atMs: 0, value: 10 }, { atMs: 60_000, value: 12 }, { atMs: 120_000, value: 14 }])).toBeCloseTo(2);
    expect(slopePerMinute([{ atMs: 0, value: 10 }, { atMs: 60_000, value: 14 }, { atMs: 120_000, value: 10 }])).toBeCloseTo(0);
    expect(slopePerMinute([{ atMs: 0, value: 10 }])).toBe(0);
  });

  it('reads a Prometheus exposition by family and label', () => {
    const values = parsePrometheus(
      [
        '# HELP voxgate_errors_total Errors by code.',
        '# TYPE voxgate_errors_total counter',
        'voxgate_errors_total{source="device",code="bad_message"} 4',
        'voxgate_errors_total{source="http",code="unauthorized"} 2',
        'voxgate_errors_total{code="llm_unavailable",source="device"} 1',
        'process_resident_memory_bytes 104857600',
      ].join('\n'),
    );
    expect(values.get('process_resident_memory_bytes')).toBe(104857600);
    expect(byLabel(values, 'voxgate_errors_total', 'code', { source: 'device' })).toEqual({ bad_message: 4, llm_unavailable: 1 });
  });

  it('attributes the LLM scripts left in the queue to the last injections', () => {
    const injections = [
      { kind: 'llm_500' as const, scripts: 2 },
      { kind: 'llm_stall_before_first_token' as const, scripts: 1 },
      { kind: 'llm_500' as const, scripts: 2 },
    ];
    expect(llmFaultsHit(injections, 0)).toEqual(new Map([['llm_500', 2], ['llm_stall_before_first_token', 1]]));
    expect(llmFaultsHit(injections, 1)).toEqual(new Map([['llm_500', 2], ['llm_stall_before_first_token', 1]]));
    expect(llmFaultsHit(injections, 3)).toEqual(new Map([['llm_500', 1]]));
    expect(llmFaultScripts('llm_500', 'Hi. There.', 1, 10)).toHaveLength(2);
    expect(llmFaultScripts('llm_stall_mid_reply', 'Sure, it is on. Anything else?', 1, 10)).toEqual([
      { type: 'text', text: 'Sure, it is on. Anything else?', tokenDelayMs: 10, stallAfterTokens: 5 },
    ]);
  });

  it('fits every fault kind into a short run', () => {
    expect(faultInterval(300_000, 7, 15_000)).toBe(15_000);
    expect(faultInterval(14_000, 7, 15_000)).toBe(2_000);
  });

  it('names a turn by what the device saw', () => {
    const result = (over: Partial<TurnResult>): TurnResult =>
      ({ stopReason: 'done', errors: [], abortSent: false, ...over }) as unknown as TurnResult;
    const gatewayError = (code: string) => ({ kind: 'gateway_error' as const, code: code as never, message: code, atMs: 0 });
    expect(classifyTurn(result({}), false, false)).toBe('completed');
    expect(classifyTurn(result({}), true, false)).toBe('dropped mid-reply (injected)');
    expect(classifyTurn(result({ stopReason: 'error', errors: [gatewayError('llm_unavailable')] }), false, false)).toBe('error llm_unavailable');
    expect(classifyTurn(result({ stopReason: 'aborted', abortSent: true }), false, false)).toBe('aborted by barge-in');
    expect(classifyTurn(result({ stopReason: 'disconnected' }), false, true)).toBe('disconnected (broker restart)');
    expect(classifyTurn(result({ stopReason: 'timeout' }), false, false)).toBe('timeout');
  });
});
