/**
 * One speculative reply (preemptive generation): the responder asked about a partial
 * transcript while the user still holds the button, its sentences buffered and the first
 * one's audio synthesized, nothing sent, stored or remembered. It has its own abort (and
 * the turn's). Tools with side effects wait, via ReplyRequest.beforeSideEffect, until it is
 * committed. Committed, it hands the turn a Responder that replays the buffered sentences
 * and goes on with the same, still running, answer, and a TtsProvider that serves the first
 * sentence's audio already made; discarded, everything it started is aborted.
 */
import type { ReplyRequest, Responder, ToolSource } from '../brain/types.ts';
import { ProviderError } from '../providers.ts';
import type { SynthesizedAudio, TtsProvider } from '../speech/types.ts';

export interface SpeculationOptions {
  deviceId: string;
  /** The partial transcript the reply is to. */
  text: string;
  responder: Responder;
  /** The device's own tools, as the turn's reply would offer them (the model's answer depends on them). */
  tools?: ToolSource;
  tts: TtsProvider;
  /** The turn's signal: its abort ends the speculation too. */
  signal: AbortSignal;
  now: () => number;
  /** The responder failed before its first sentence (nothing worth keeping). */
  onFailed: () => void;
}

/** What a committed speculation hands speakReply. */
export interface CommittedReply {
  responder: Responder;
  tts: TtsProvider;
  /** When the speculation saw its first token / sentence (monotonic ms), if it had by now. */
  firstToken?: number;
  firstSentence?: number;
}

const discarded = () => new ProviderError('speculative reply discarded', false, 'aborted');

export class Speculation {
  readonly text: string;
  readonly startedAt: number;
  private readonly own = new AbortController();
  private readonly signal: AbortSignal;
  private readonly sentences: string[] = [];
  private firstToken: number | undefined;
  private firstSentence: number | undefined;
  private finished = false;
  private error: unknown;
  private wake: (() => void) | undefined;
  private onToken: (() => void) | undefined;
  private firstAudio: { text: string; audio: Promise<SynthesizedAudio> } | undefined;
  private state: 'running' | 'committed' | 'discarded' = 'running';
  private openGate!: () => void;
  private closeGate!: (err: unknown) => void;
  private readonly gate = new Promise<void>((resolve, reject) => {
    this.openGate = resolve;
    this.closeGate = reject;
  });

  constructor(private readonly o: SpeculationOptions) {
    this.text = o.text;
    this.startedAt = o.now();
    this.signal = AbortSignal.any([o.signal, this.own.signal]);
    this.gate.catch(() => {}); // rejected on discard; only a waiting responder cares
    void this.produce();
  }

  get running(): boolean {
    return this.state === 'running';
  }

  /** Throws everything away: the LLM request, the synthesis, a tool waiting for the commit. */
  discard(): void {
    if (this.state !== 'running') return;
    this.state = 'discarded';
    this.closeGate(discarded());
    this.own.abort(discarded());
    this.poke();
  }

  /** The reply becomes the turn's: tools may now act, and speakReply takes over. */
  commit(): CommittedReply {
    if (this.state !== 'running') throw new Error(`commit of a ${this.state} speculation`);
    this.state = 'committed';
    this.openGate();
    return {
      responder: { reply: (request) => this.replay(request), resetConversation: (id) => this.o.responder.resetConversation(id) },
      tts: this.ttsWithFirstAudio(),
      firstToken: this.firstToken,
      firstSentence: this.firstSentence,
    };
  }

  private async produce(): Promise<void> {
    const { o } = this;
    try {
      const sentences = o.responder.reply({
        deviceId: o.deviceId,
        text: o.text,
        signal: this.signal,
        ...(o.tools ? { tools: o.tools } : {}),
        onFirstToken: () => {
          if (this.firstToken !== undefined) return;
          this.firstToken = o.now();
          this.onToken?.();
        },
        beforeSideEffect: () => this.gate,
      });
      for await (const raw of sentences) {
        if (this.signal.aborted) break;
        const text = raw.trim();
        if (!text) continue;
        this.firstSentence ??= o.now();
        this.sentences.push(text);
        if (!this.firstAudio) {
          // The first sentence's audio is what the user waits for: make it now.
          const audio = o.tts.synthesize(text, { signal: this.signal });
          audio.catch(() => {}); // awaited by speakReply after a commit, or dropped
          this.firstAudio = { text, audio };
        }
        this.poke();
      }
    } catch (err) {
      if (!this.signal.aborted) this.error = err ?? new Error('responder failed');
    } finally {
      this.finished = true;
      this.poke();
      if (this.error !== undefined && this.sentences.length === 0 && this.state === 'running') o.onFailed();
    }
  }

  /** The buffered sentences, then the rest as the speculation produces them; its failure at the end. */
  private async *replay(request: ReplyRequest): AsyncGenerator<string> {
    // The turn's reply work stopping (abort, TTS failure) stops the speculation's too.
    const stop = () => this.own.abort(request.signal.reason);
    if (request.signal.aborted) stop();
    request.signal.addEventListener('abort', stop, { once: true });
    if (this.firstToken === undefined) this.onToken = () => request.onFirstToken?.();
    try {
      for (let next = 0; ; ) {
        if (this.signal.aborted) throw new ProviderError('reply aborted', false, 'aborted');
        if (next < this.sentences.length) {
          yield this.sentences[next++]!;
          continue;
        }
        if (this.finished) break;
        await new Promise<void>((resolve) => (this.wake = resolve));
      }
      if (this.error !== undefined) throw this.error;
    } finally {
      request.signal.removeEventListener('abort', stop);
    }
  }

  private ttsWithFirstAudio(): TtsProvider {
    const inner = this.o.tts;
    let served = false;
    return {
      name: inner.name,
      health: () => inner.health(),
      voices: () => inner.voices(),
      synthesize: (text, options) => {
        // Looked up at the call: the first sentence may have arrived after the commit.
        const first = this.firstAudio;
        if (!served && first && text === first.text) {
          served = true;
          return first.audio;
        }
        return inner.synthesize(text, options);
      },
    };
  }

  private poke(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
