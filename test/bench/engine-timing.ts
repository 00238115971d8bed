/**
 * Times the engines inside the gateway without touching it: the STT and TTS providers and
 * the responder handed to startGateway are thin wrappers around the real ones that note, per
 * turn, how long each engine took on the path to the first reply audio:
 *   sttFinishMs         stream.finish() called (button released, last frame in) → final text
 *   llmFirstTokenMs     responder.reply() called → first token (groq-sdk + fake LLM's TTFT)
 *   llmFirstSentenceMs  responder.reply() called → first complete sentence
 *   ttsFirstMs          the turn's first synthesize() call → its audio
 * The responder and TTS share the turn's AbortSignal, which ties them to the turn; the STT
 * stream finishes just before the gateway's `transcript` event for the turn, so finished
 * streams are matched to transcripts in order (exact when turns do not finish in the same
 * instant, as in the latency phase, which runs one turn at a time).
 * With preemptive generation a turn may call reply() more than once (speculations that were
 * discarded, then the final's own call): each call is timed on its own and the turn keeps the
 * last one, the one that made the reply (a committed speculation, or the final's call). For a
 * committed speculation the LLM and TTS times start before release.
 */
import type { ReplyRequest, Responder } from '../../gateway/brain/types.ts';
import type { SessionEvents } from '../../gateway/session/events.ts';
import type { SttProvider, SttStream, SttStreamOptions, SynthesisOptions, TtsProvider } from '../../gateway/speech/types.ts';
import type { TurnRecord } from '../../gateway/store/types.ts';

export interface EngineTurnTimes {
  sttFinishMs?: number;
  llmFirstTokenMs?: number;
  llmFirstSentenceMs?: number;
  /** reply() called → the whole answer has been read. */
  llmAnswerMs?: number;
  ttsFirstMs?: number;
}

/** A finished STT stream not claimed by a transcript within this long belonged to an aborted turn. */
const STALE_STT_MS = 5_000;

const now = () => performance.now();

export class EngineTimer {
  readonly stt: SttProvider;
  readonly tts: TtsProvider;
  /** Feed these to the gateway (they pair finished STT streams with turns and report whole turns). */
  readonly events: SessionEvents;
  private readonly finishedStt: Array<{ at: number; ms: number }> = [];
  /** Per device, the turn in progress: its STT flush and its latest reply() call's times. */
  private readonly byDevice = new Map<string, { sttFinishMs?: number; reply?: EngineTurnTimes }>();
  private readonly bySignal = new WeakMap<AbortSignal, EngineTurnTimes>();
  private readonly listeners = new Set<(record: TurnRecord, engines: EngineTurnTimes) => void>();

  constructor(stt: SttProvider, tts: TtsProvider) {
    this.stt = this.wrapStt(stt);
    this.tts = this.wrapTts(tts);
    this.events = {
      transcript: ({ deviceId }) => {
        const times = this.times(deviceId);
        while (this.finishedStt.length > 0 && now() - this.finishedStt[0]!.at > STALE_STT_MS) this.finishedStt.shift();
        const finished = this.finishedStt.shift();
        if (finished) times.sttFinishMs = finished.ms;
      },
      turnRecorded: (record) => {
        const turn = this.byDevice.get(record.deviceId) ?? {};
        this.byDevice.delete(record.deviceId);
        const times: EngineTurnTimes = { ...turn.reply };
        if (turn.sttFinishMs !== undefined) times.sttFinishMs = turn.sttFinishMs;
        for (const listener of this.listeners) listener(record, times);
      },
    };
  }

  /** Called with every recorded turn and its engine times. */
  onTurn(listener: (record: TurnRecord, engines: EngineTurnTimes) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The responder to hand the gateway; `inner` is looked up per call (it may need the gateway's store). */
  wrapResponder(inner: () => Responder): Responder {
    const timer = this;
    return {
      async *reply(request: ReplyRequest) {
        const times: EngineTurnTimes = {};
        timer.times(request.deviceId).reply = times; // the latest call is the turn's reply
        timer.bySignal.set(request.signal, times);
        const start = now();
        const sentences = inner().reply({
          ...request,
          onFirstToken: () => {
            times.llmFirstTokenMs ??= now() - start;
            request.onFirstToken?.();
          },
        });
        for await (const sentence of sentences) {
          times.llmFirstSentenceMs ??= now() - start;
          yield sentence;
        }
        times.llmAnswerMs = now() - start;
      },
      resetConversation: (deviceId) => inner().resetConversation(deviceId),
    };
  }

  private times(deviceId: string): { sttFinishMs?: number; reply?: EngineTurnTimes } {
    let times = this.byDevice.get(deviceId);
    if (!times) this.byDevice.set(deviceId, (times = {}));
    return times;
  }

  private wrapStt(inner: SttProvider): SttProvider {
    const finished = this.finishedStt;
    return {
      name: inner.name,
      capabilities: inner.capabilities,
      health: () => inner.health(),
      close: inner.close ? () => inner.close!() : undefined,
      createStream(options: SttStreamOptions): SttStream {
        const stream = inner.createStream(options);
        return {
          endsTurns: stream.endsTurns,
          drain: stream.drain ? () => stream.drain!() : undefined,
          push: (samples) => stream.push(samples),
          finish: async () => {
            const start = now();
            const result = await stream.finish();
            finished.push({ at: now(), ms: now() - start });
            return result;
          },
        };
      },
    };
  }

  private wrapTts(inner: TtsProvider): TtsProvider {
    const bySignal = this.bySignal;
    return {
      name: inner.name,
      health: () => inner.health(),
      voices: () => inner.voices(),
      close: inner.close ? () => inner.close!() : undefined,
      async synthesize(text: string, options: SynthesisOptions) {
        const times = bySignal.get(options.signal);
        const first = times !== undefined && times.ttsFirstMs === undefined;
        if (first) times.ttsFirstMs = -1; // claimed: the next sentence's call must not take this slot
        const start = now();
        const audio = await inner.synthesize(text, options);
        if (first) times.ttsFirstMs = now() - start;
        return audio;
      },
    };
  }
}
