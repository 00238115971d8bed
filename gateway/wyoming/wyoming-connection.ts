/**
 * One Wyoming client connection: bytes → events (WyomingReader) → one handler that serves
 * `describe`, a transcription or a synthesis at a time, in order. Home Assistant opens a new
 * connection per operation; a client may also run several operations one after another.
 *
 * Bad input never reaches further than this connection: a framing error, bad event data, a
 * refused request (busy, not ready, too long) or an engine failure is answered with an
 * `error{text, code}` event, logged once, and the connection is closed (after a framing
 * error the byte stream cannot be trusted; after a refused request an old client would
 * otherwise wait forever). Unknown events are ignored, as the Python servers do. A client
 * silent for `idleTimeoutMs` (one that stopped mid-payload) is disconnected.
 */
import { once } from 'node:events';
import type { Socket } from 'node:net';
import type { Logger } from '../logger.ts';
import { ProviderError } from '../providers.ts';
import type { JobSlots } from './job-slots.ts';
import { audioFormatOf } from './wyoming-audio.ts';
import type { AttachedEngines, SpeechCatalog } from './wyoming-catalog.ts';
import { WyomingRequestError } from './wyoming-errors.ts';
import { encodeEvent, WyomingFramingError, WyomingReader, type WyomingEvent } from './wyoming-framing.ts';
import { WyomingTranscription } from './wyoming-stt.ts';
import { WyomingSynthesis, type VoiceChoice } from './wyoming-tts.ts';

/** Events waiting for the handler before reading pauses (a client flooding audio while a request awaits). */
const QUEUE_HIGH_WATER = 256;
const QUEUE_LOW_WATER = 32;
/** After an error event and FIN, a client that keeps the connection open is cut off after this. */
const CLOSE_GRACE_MS = 2_000;
/** Voice and model names listed in an unknown_voice / unknown_model message. */
const NAMES_IN_MESSAGE = 12;

export interface ConnectionDeps {
  socket: Socket;
  /** The info event's data (synchronous: answered at once, also while models load). */
  info: () => Record<string, unknown>;
  catalog: () => SpeechCatalog;
  engines: () => AttachedEngines | undefined;
  slots: JobSlots;
  limits: { maxAudioSeconds: number; maxTextChars: number; idleTimeoutMs: number };
  logger: Logger;
}

type Active =
  | { kind: 'stt'; transcription: WyomingTranscription; release: () => void }
  | { kind: 'tts'; synthesis: WyomingSynthesis; release: () => void };

const textOf = (data: Record<string, unknown>, event: string): string => {
  if (typeof data.text !== 'string') throw new WyomingRequestError('bad_request', `${event} needs a text string`);
  return data.text;
};
const optionalString = (value: unknown): string | undefined => (typeof value === 'string' && value.trim() !== '' ? value : undefined);
const nameList = (names: string[]) => names.slice(0, NAMES_IN_MESSAGE).join(', ') + (names.length > NAMES_IN_MESSAGE ? `, … (${names.length} in all)` : '');

export class WyomingConnection {
  private readonly reader = new WyomingReader();
  private readonly abort = new AbortController();
  private readonly log: Logger;
  private queue: Promise<void> = Promise.resolve();
  private queued = 0;
  private closing = false;
  private active?: Active;
  /** From the last `transcribe` event, for the transcription its audio starts. */
  private request: { language?: string; name?: string } = {};
  private readonly ignored = new Set<string>();

  constructor(private readonly d: ConnectionDeps) {
    this.log = d.logger;
    const socket = d.socket;
    socket.setNoDelay(true);
    socket.setTimeout(d.limits.idleTimeoutMs, () => {
      this.log.debug({ idleMs: d.limits.idleTimeoutMs, partialBytes: this.reader.bufferedBytes }, 'wyoming client went silent; closing');
      socket.destroy();
    });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.log.debug({ err: err.message }, 'wyoming connection error'));
    socket.on('close', () => this.onClose());
  }

  private onData(chunk: Buffer): void {
    if (this.closing) return;
    let events: WyomingEvent[];
    try {
      events = this.reader.push(chunk);
    } catch (err) {
      this.fail(err instanceof WyomingFramingError ? new WyomingRequestError('bad_request', err.message) : err);
      return;
    }
    for (const event of events) this.enqueue(event);
  }

  private enqueue(event: WyomingEvent): void {
    if (++this.queued > QUEUE_HIGH_WATER) this.d.socket.pause();
    this.queue = this.queue
      .then(() => (this.closing ? undefined : this.handle(event)))
      .catch((err: unknown) => this.fail(err))
      .finally(() => {
        if (--this.queued < QUEUE_LOW_WATER && !this.closing && this.d.socket.isPaused()) this.d.socket.resume();
      });
  }

  private async handle(event: WyomingEvent): Promise<void> {
    const { type, data, payload } = event;
    switch (type) {
      case 'describe':
        return this.send('info', this.d.info());
      case 'ping':
        return this.send('pong', typeof data.text === 'string' ? { text: data.text } : undefined);
      case 'transcribe':
        this.request = { language: optionalString(data.language), name: optionalString(data.name) };
        return;
      case 'audio-start':
        audioFormatOf(data, 'audio-start');
        if (this.active?.kind !== 'stt') this.beginTranscription();
        return;
      case 'audio-chunk':
        if (this.active?.kind !== 'stt') this.beginTranscription();
        return (this.active as Extract<Active, { kind: 'stt' }>).transcription.chunk(data, payload);
      case 'audio-stop':
        return this.endTranscription();
      case 'synthesize':
        // A streaming client repeats the whole text for old servers; a streaming server ignores it.
        if (this.active?.kind === 'tts' && this.active.synthesis.streaming) return;
        return this.synthesizeWhole(textOf(data, 'synthesize'), data.voice);
      case 'synthesize-start':
        return this.beginStreamingSynthesis(data.voice);
      case 'synthesize-chunk':
        if (this.active?.kind !== 'tts' || !this.active.synthesis.streaming) return this.ignore(type, 'without synthesize-start');
        return this.active.synthesis.pushText(textOf(data, 'synthesize-chunk'));
      case 'synthesize-stop':
        if (this.active?.kind !== 'tts' || !this.active.synthesis.streaming) return this.ignore(type, 'without synthesize-start');
        await this.active.synthesis.stopStream();
        return this.finishRequest();
      default:
        return this.ignore(type, 'unknown event');
    }
  }

  private ignore(type: string, why: string): void {
    if (this.ignored.has(type)) return;
    this.ignored.add(type);
    this.log.debug({ event: type, why }, 'wyoming event ignored');
  }

  private engines(): AttachedEngines {
    const engines = this.d.engines();
    if (!engines) throw new WyomingRequestError('not_ready', 'voxgate is still loading its speech engines; try again shortly');
    return engines;
  }

  private acquire(): () => void {
    const release = this.d.slots.tryAcquire();
    if (!release) throw new WyomingRequestError('busy', `voxgate is already running ${this.d.slots.limit} Wyoming requests; try again shortly`);
    return release;
  }

  private beginTranscription(): void {
    if (this.active) throw new WyomingRequestError('bad_request', 'audio arrived while a synthesis is running on this connection');
    const engines = this.engines();
    let stt = engines.stt;
    if (this.request.name !== undefined) {
      const models = this.d.catalog().stt;
      const model = models.find((m) => m.name === this.request.name);
      if (!model) throw new WyomingRequestError('unknown_model', `unknown model ${JSON.stringify(this.request.name)}; available: ${nameList(models.map((m) => m.name))}`);
      stt = model.provider ?? stt;
    }
    const release = this.acquire();
    try {
      const transcription = new WyomingTranscription({
        stt,
        resample: engines.resample,
        language: this.request.language,
        maxAudioSeconds: this.d.limits.maxAudioSeconds,
        send: (type, data) => this.send(type, data),
        signal: this.abort.signal,
      });
      this.active = { kind: 'stt', transcription, release };
    } catch (err) {
      release();
      throw err;
    }
  }

  private async endTranscription(): Promise<void> {
    if (this.active?.kind !== 'stt') {
      // audio-stop without audio: an empty transcript, as wyoming-faster-whisper answers.
      this.send('transcript', { text: '' });
      return;
    }
    await this.active.transcription.stop();
    this.request = {};
    this.finishRequest();
  }

  private async synthesizeWhole(text: string, voice: unknown): Promise<void> {
    const synthesis = this.beginSynthesis(voice);
    await synthesis.speakWhole(text);
    this.finishRequest();
  }

  private beginStreamingSynthesis(voice: unknown): void {
    this.beginSynthesis(voice).startStream();
  }

  private beginSynthesis(voice: unknown): WyomingSynthesis {
    if (this.active) throw new WyomingRequestError('bad_request', `a ${this.active.kind === 'stt' ? 'transcription' : 'synthesis'} is already running on this connection`);
    const choice = this.chooseVoice(voice);
    const release = this.acquire();
    const synthesis = new WyomingSynthesis({
      choice,
      resample: this.engines().resample,
      maxTextChars: this.d.limits.maxTextChars,
      send: (type, data, payload) => this.send(type, data, payload),
      drained: () => this.drained(),
      signal: this.abort.signal,
    });
    this.active = { kind: 'tts', synthesis, release };
    return synthesis;
  }

  /** `voice{name, speaker}` or `voice{language}` → the provider that owns it; none: the configured voice. */
  private chooseVoice(voice: unknown): VoiceChoice {
    const engines = this.engines();
    const v = typeof voice === 'object' && voice !== null ? (voice as Record<string, unknown>) : {};
    const name = optionalString(v.name);
    const language = optionalString(v.language);
    if (name === undefined && language === undefined) return { provider: engines.tts };
    const voices = this.d.catalog().tts;
    const entry =
      name !== undefined
        ? voices.find((e) => e.name === name)
        : voices.find((e) => e.installed && e.languages.some((l) => sameLanguage(l, language!)));
    if (!entry) {
      if (name === undefined) return { provider: engines.tts };
      throw new WyomingRequestError('unknown_voice', `unknown voice ${JSON.stringify(name)}; available: ${nameList(voices.filter((e) => e.installed).map((e) => e.name))}`);
    }
    const speaker = typeof v.speaker === 'string' || typeof v.speaker === 'number' ? String(v.speaker) : undefined;
    return { provider: entry.provider ?? engines.tts, voice: entry.voiceId(speaker) };
  }

  private finishRequest(): void {
    this.active?.release();
    this.active = undefined;
  }

  private send(type: string, data?: Record<string, unknown>, payload?: Uint8Array): void {
    const socket = this.d.socket;
    if (socket.destroyed || socket.writableEnded) return;
    socket.write(encodeEvent(type, data, payload));
  }

  private async drained(): Promise<void> {
    const socket = this.d.socket;
    if (!socket.writableNeedDrain || socket.destroyed) return;
    await Promise.race([once(socket, 'drain'), once(socket, 'close')]);
  }

  /** Answers a failure with `error` (unless the client is gone) and closes the connection. */
  private fail(err: unknown): void {
    if (this.closing) return;
    this.closing = true;
    const clientGone = this.abort.signal.aborted || (err instanceof ProviderError && err.reason === 'aborted');
    if (!clientGone) {
      const error = err instanceof WyomingRequestError ? err : new WyomingRequestError('internal', 'internal error');
      if (err instanceof WyomingRequestError) this.log.warn({ code: error.code, err: error.message }, 'wyoming request refused');
      else this.log.error({ err }, 'wyoming request failed');
      this.send('error', { text: error.message, code: error.code });
    }
    this.abort.abort();
    this.finishRequest();
    const socket = this.d.socket;
    socket.resume(); // what still comes is read and dropped, so the client's FIN is seen
    socket.end();
    setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
  }

  private onClose(): void {
    this.closing = true;
    this.abort.abort();
    this.finishRequest();
  }
}

/** `en_US` matches `en-us` and `en`. */
function sameLanguage(a: string, b: string): boolean {
  const norm = (t: string) => t.toLowerCase().replace('-', '_');
  const [x, y] = [norm(a), norm(b)];
  return x === y || x.split('_')[0] === y || y.split('_')[0] === x;
}
