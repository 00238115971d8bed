/**
 * The non-streaming design most voice servers use, as a small pipeline over the SAME engine
 * objects the gateway runs (so only the design differs): the microphone packets are buffered
 * while the button is held and nothing is done with them; on release they are decoded and
 * given to the recognizer all at once and transcribed whole; the whole LLM answer is awaited;
 * the whole answer is synthesized in one piece; then it is resampled and encoded, and the
 * first packet is "first audio". No transport: the figure it gives is in-process, so the
 * comparison favours the baseline by voxgate's two network hops.
 */
import { MIC_SAMPLE_RATE, resolveReplyParams, type AudioFormat, type GatewayAudioParams } from '../../protocol/index.ts';
import { createMicDecoder } from '../../gateway/audio/mic-decoder.ts';
import { createReplyEncoder } from '../../gateway/audio/reply-encoder.ts';
import type { Responder } from '../../gateway/brain/types.ts';
import type { SttProvider, TtsProvider } from '../../gateway/speech/types.ts';

export interface BaselineEngines {
  stt: SttProvider;
  tts: TtsProvider;
  responder: Responder;
}

export interface BaselineInput {
  deviceId: string;
  codec: AudioFormat;
  frameMs: number;
  /** The microphone packets of the whole turn, as the device sent them. */
  packets: readonly Uint8Array[];
  /** Reply audio asked for by the device (default 16 kHz in the mic codec). */
  replyRate?: 16000 | 24000;
}

/** The pipeline's steps, in the order they must happen (the unit test checks it). */
export type BaselineStep = 'released' | 'transcribed' | 'answered' | 'synthesized' | 'first_audio';

export interface BaselineTurn {
  transcript: string;
  reply: string;
  /** Release → each step's end, ms. */
  releaseToFinalMs: number;
  releaseToAnswerMs: number;
  releaseToSynthesizedMs: number;
  releaseToFirstAudioMs: number;
  /** Each engine's own time, ms. */
  transcribeMs: number;
  llmAnswerMs: number;
  ttsMs: number;
  /** Resampling the whole reply and encoding its first packet. */
  encodeMs: number;
}

export interface BaselineOptions {
  now?: () => number;
  /** Called as each step completes (tests check the order). */
  onStep?: (step: BaselineStep) => void;
  signal?: AbortSignal;
}

/** Runs one turn from the moment the button is released (all packets are already buffered). */
export async function runBaselineTurn(engines: BaselineEngines, input: BaselineInput, options: BaselineOptions = {}): Promise<BaselineTurn> {
  const now = options.now ?? (() => performance.now());
  const step = (name: BaselineStep) => options.onStep?.(name);
  const signal = options.signal ?? new AbortController().signal;
  const released = now();
  step('released');

  // Transcribed whole: decode every buffered packet, hand the recognizer all of it, flush.
  const decoder = createMicDecoder(input.codec);
  const stream = engines.stt.createStream({ signal });
  for (const packet of input.packets) stream.push(decoder.decode(packet));
  const { text: transcript } = await stream.finish();
  const transcribed = now();
  step('transcribed');

  // The whole answer before any synthesis.
  const sentences: string[] = [];
  for await (const sentence of engines.responder.reply({ deviceId: input.deviceId, text: transcript.trim(), signal })) sentences.push(sentence.trim());
  const reply = sentences.filter(Boolean).join(' ');
  const answered = now();
  step('answered');

  // One synthesis of the whole answer.
  const audio = await engines.tts.synthesize(reply, { signal });
  const synthesized = now();
  step('synthesized');

  const encoder = createReplyEncoder(replyParams(input));
  const frames = await encoder.toFrames(audio);
  if (frames.length === 0) throw new Error('the baseline synthesized no audio');
  encoder.encode(frames[0]!);
  const firstAudio = now();
  step('first_audio');

  return {
    transcript,
    reply,
    releaseToFinalMs: transcribed - released,
    releaseToAnswerMs: answered - released,
    releaseToSynthesizedMs: synthesized - released,
    releaseToFirstAudioMs: firstAudio - released,
    transcribeMs: transcribed - released,
    llmAnswerMs: answered - transcribed,
    ttsMs: synthesized - answered,
    encodeMs: firstAudio - synthesized,
  };
}

/** The reply parameters the gateway would choose for this device's hello. */
function replyParams(input: BaselineInput): GatewayAudioParams {
  const resolved = resolveReplyParams(
    { format: input.codec, sample_rate: MIC_SAMPLE_RATE, channels: 1, frame_duration: input.frameMs },
    { format: input.codec, sample_rate: input.replyRate ?? 16000 },
  );
  if (!resolved.ok) throw new RangeError(resolved.reason);
  return resolved.value;
}
