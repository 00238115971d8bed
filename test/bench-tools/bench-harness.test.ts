/**
 * The benchmark's own logic, without running the benchmark: the non-streaming baseline does
 * its steps strictly one after another (transcribe all → whole answer → one synthesis → first
 * packet); the engine timer ties engine times to the right turn; partial lag and overhead are
 * computed as the report defines them.
 */
import { describe, expect, it } from 'vitest';
import { encodeMic } from '../../device-sim/audio-encoder.ts';
import type { LoadTurn } from '../../device-sim/load-report.ts';
import type { ReplyRequest } from '../../gateway/brain/types.ts';
import type { SttProvider, SynthesisOptions, TtsProvider } from '../../gateway/speech/types.ts';
import type { TurnRecord } from '../../gateway/store/types.ts';
import { runBaselineTurn, type BaselineStep } from '../bench/baseline.ts';
import { EngineTimer, type EngineTurnTimes } from '../bench/engine-timing.ts';
import { overheadOf } from '../bench/latency.ts';
import { partialLags } from '../bench/partial-lag.ts';
import { doublingSteps } from '../bench/scale.ts';
import { FakeResponder } from '../fakes/fake-responder.ts';
import { FakeStt } from '../fakes/fake-stt.ts';
import { FakeTts } from '../fakes/fake-tts.ts';

/** 1.2 s of a voiced tone (the fake recognizer hears one word per voiced 200 ms). */
function tone(seconds: number): Float32Array {
  const out = new Float32Array(seconds * 16000);
  for (let i = 0; i < out.length; i++) out[i] = 0.3 * Math.sin((2 * Math.PI * 220 * i) / 16000);
  return out;
}

/** Wraps the fakes so that every engine call lands in one ordered log. */
function loggedEngines(log: string[]) {
  const stt = new FakeStt();
  const tts = new FakeTts();
  const responder = new FakeResponder({ sentences: ['Sure.', 'The light is on.', 'Anything else?'], sentenceDelayMs: 5 });
  const loggedStt: SttProvider = {
    name: stt.name,
    capabilities: stt.capabilities,
    health: () => stt.health(),
    createStream(options) {
      log.push('stt:create');
      const stream = stt.createStream(options);
      return {
        push: (samples) => (log.push('stt:push'), stream.push(samples)),
        finish: async () => {
          log.push('stt:finish');
          const result = await stream.finish();
          log.push(`stt:final ${result.text}`);
          return result;
        },
      };
    },
  };
  const loggedResponder = {
    async *reply(request: ReplyRequest) {
      log.push(`llm:request ${request.text}`);
      for await (const sentence of responder.reply(request)) {
        log.push(`llm:sentence ${sentence}`);
        yield sentence;
      }
      log.push('llm:done');
    },
    resetConversation: () => {},
  };
  const loggedTts: TtsProvider = {
    name: tts.name,
    health: () => tts.health(),
    voices: () => tts.voices(),
    synthesize: async (text: string, options: SynthesisOptions) => {
      log.push(`tts:synthesize ${text}`);
      const audio = await tts.synthesize(text, options);
      log.push('tts:audio');
      return audio;
    },
  };
  return { stt, engines: { stt: loggedStt, tts: loggedTts, responder: loggedResponder } };
}

describe('the non-streaming baseline', () => {
  it('transcribes all audio at release, waits for the whole answer, synthesizes it once, then encodes the first packet', async () => {
    const log: string[] = [];
    const steps: BaselineStep[] = [];
    const { stt, engines } = loggedEngines(log);
    const mic = encodeMic(tone(1.2), 'opus', 60);
    const result = await runBaselineTurn(engines, { deviceId: 'd1', codec: 'opus', frameMs: 60, packets: mic.packets }, { onStep: (s) => (steps.push(s), log.push(`step:${s}`)) });

    expect(steps).toEqual(['released', 'transcribed', 'answered', 'synthesized', 'first_audio']);
    const at = (entry: string) => log.indexOf(entry);
    const pushes = log.flatMap((entry, i) => (entry === 'stt:push' ? [i] : []));
    // Every packet is decoded and given to the recognizer after release, before the flush.
    expect(pushes).toHaveLength(mic.packets.length);
    expect(Math.min(...pushes)).toBeGreaterThan(at('step:released'));
    expect(Math.max(...pushes)).toBeLessThan(at('stt:finish'));
    expect(stt.lastStream!.samples().length).toBe(mic.packets.length * 960);
    // The LLM is asked only once the transcript is final; TTS starts only after the last sentence, once, with all of it.
    expect(at(`llm:request ${result.transcript}`)).toBeGreaterThan(at('step:transcribed'));
    expect(result.transcript).toBe('turn on the kitchen light please');
    const synths = log.filter((e) => e.startsWith('tts:synthesize'));
    expect(synths).toEqual(['tts:synthesize Sure. The light is on. Anything else?']);
    expect(at(synths[0]!)).toBeGreaterThan(at('llm:done'));
    expect(at('step:first_audio')).toBeGreaterThan(at('tts:audio'));
    expect(result.reply).toBe('Sure. The light is on. Anything else?');
  });

  it('reports each stage from the release on one clock', async () => {
    let clock = 1000;
    const { engines } = loggedEngines([]);
    const timed = {
      stt: { ...engines.stt, createStream: (o: Parameters<SttProvider['createStream']>[0]) => {
        const s = engines.stt.createStream(o);
        return { push: s.push, finish: async () => ((clock += 100), s.finish()) };
      } },
      responder: { ...engines.responder, reply: async function* (r: ReplyRequest) {
        clock += 300;
        yield* engines.responder.reply(r);
      } },
      tts: { ...engines.tts, synthesize: async (t: string, o: SynthesisOptions) => ((clock += 50), engines.tts.synthesize(t, o)) },
    };
    const mic = encodeMic(tone(0.6), 'pcm16', 60);
    const r = await runBaselineTurn(timed, { deviceId: 'd1', codec: 'pcm16', frameMs: 60, packets: mic.packets }, { now: () => clock });
    expect([r.releaseToFinalMs, r.releaseToAnswerMs, r.releaseToSynthesizedMs, r.releaseToFirstAudioMs]).toEqual([100, 400, 450, 450]);
    expect([r.transcribeMs, r.llmAnswerMs, r.ttsMs, r.encodeMs]).toEqual([100, 300, 50, 0]);
  });
});

describe('EngineTimer', () => {
  it('ties the STT flush, the LLM and the first synthesis to the turn they belong to', async () => {
    const stt = new FakeStt({ finishDelayMs: 20 });
    const tts = new FakeTts({ delayMs: 10 });
    const responder = new FakeResponder({ sentences: ['One.', 'Two.'], firstTokenDelayMs: 30, sentenceDelayMs: 5 });
    const timer = new EngineTimer(stt, tts);
    const wrapped = timer.wrapResponder(() => responder);
    const seen: Array<[TurnRecord, EngineTurnTimes]> = [];
    timer.onTurn((record, times) => seen.push([record, times]));

    // What a turn does, in the gateway's order: flush → transcript event → reply → synthesis per sentence → record.
    const stream = timer.stt.createStream({ signal: new AbortController().signal });
    stream.push(tone(0.4));
    await stream.finish();
    timer.events.transcript!({ deviceId: 'd1', turn: 7, text: 'turn on' });
    const signal = new AbortController().signal;
    let firstToken = false;
    for await (const sentence of wrapped.reply({ deviceId: 'd1', text: 'turn on', signal, onFirstToken: () => (firstToken = true) })) {
      await timer.tts.synthesize(sentence, { signal });
    }
    timer.events.turnRecorded!({ deviceId: 'd1', turn: 7 } as TurnRecord);

    expect(firstToken).toBe(true);
    expect(seen).toHaveLength(1);
    const times = seen[0]![1];
    expect(times.sttFinishMs).toBeGreaterThanOrEqual(15);
    expect(times.llmFirstTokenMs).toBeGreaterThanOrEqual(25);
    expect(times.llmFirstSentenceMs).toBeGreaterThanOrEqual(times.llmFirstTokenMs!);
    expect(times.ttsFirstMs).toBeGreaterThanOrEqual(5);
    // Only the first sentence's synthesis counts; the whole answer outlasts it.
    expect(times.llmAnswerMs).toBeGreaterThan(times.llmFirstSentenceMs!);
    expect(tts.requests.map((r) => r.text)).toEqual(['One.', 'Two.']);
  });
});

const loadTurn = (recording: string, partials: Array<[number, string]>): LoadTurn =>
  ({ recording, partials: partials.map(([atMs, text]) => ({ atMs, text })) }) as LoadTurn;

describe('benchmark arithmetic', () => {
  it('measures a partial against the audio position where the recognizer first produced its text', () => {
    const references = new Map([['clip', new Map([['hello', 600], ['hello there', 1200]])]]);
    const lags = partialLags(
      [loadTurn('clip', [[650, 'hello'], [1500, ' hello there '], [1600, 'garbled']]), loadTurn('other', [[100, 'hello']])],
      references,
    );
    expect(lags.lags).toEqual([50, 300]);
    expect(lags.unmatched).toBe(2);
  });

  it('takes the engines out of release → first audio to get the gateway overhead', () => {
    const device = { timings: { releaseToFirstAudioMs: 420 } } as LoadTurn;
    expect(overheadOf(device, { sttFinishMs: 30, llmFirstSentenceMs: 330, ttsFirstMs: 40 })).toBe(20);
    expect(overheadOf(device, { sttFinishMs: 30, llmFirstSentenceMs: 330 })).toBeNull();
    expect(overheadOf(device, { sttFinishMs: 30, llmFirstSentenceMs: 330, ttsFirstMs: -1 })).toBeNull();
  });

  it('for a preempted turn takes out only the engine time left at release', () => {
    const device = { timings: { releaseToFirstAudioMs: 120 } } as LoadTurn;
    // Started 300 ms before release: 330 + 40 − 300 = 70 ms of engine time after release.
    expect(overheadOf(device, { sttFinishMs: 30, llmFirstSentenceMs: 330, ttsFirstMs: 40 }, 300)).toBe(20);
    // Started early enough that the first audio was ready at release: nothing to take out.
    const ready = { timings: { releaseToFirstAudioMs: 45 } } as LoadTurn;
    expect(overheadOf(ready, { sttFinishMs: 30, llmFirstSentenceMs: 330, ttsFirstMs: 40 }, 500)).toBe(15);
  });

  it('steps the device count up by doubling, ending at the bound', () => {
    expect(doublingSteps(64)).toEqual([1, 2, 4, 8, 16, 32, 64]);
    expect(doublingSteps(12)).toEqual([1, 2, 4, 8, 12]);
    expect(doublingSteps(1)).toEqual([1]);
  });
});
