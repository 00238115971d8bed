/**
 * Text → speech for the HTTP API: checks a request (text, voice, speed) and synthesizes it
 * sentence by sentence with the brain's SentenceSplitter, so a stream can send the first
 * sentence while later ones are still being made. All audio of one request is brought to
 * the rate of its first sentence (a fallback voice may speak at another rate).
 */
import { concatFloat32 } from '../../audio/pcm16.ts';
import { resample } from '../../audio/resampler.ts';
import { splitSentences } from '../brain/sentence-splitter.ts';
import { ProviderError } from '../providers.ts';
import type { TtsProvider } from '../speech/types.ts';
import type { AudioJobs } from './audio-decode.ts';
import { HttpError } from './http-errors.ts';

/** OpenAI's accepted speed range; beyond it speech is unintelligible anyway. */
export const MIN_SPEED = 0.25;
export const MAX_SPEED = 4;
/** Voices named in an `unknown_voice` message (espeak-ng alone has over a hundred). */
const VOICES_IN_MESSAGE = 12;

export interface SpeechRequest {
  text: string;
  /** Unset: the provider's configured voice. */
  voice?: string;
  speed: number;
}

export interface SentenceAudio {
  sentence: string;
  samples: Float32Array;
  sampleRate: number;
}

export function parseSpeechRequest(input: { text: unknown; voice: unknown; speed: unknown }, tts: TtsProvider, maxChars: number): SpeechRequest {
  if (input.text !== undefined && typeof input.text !== 'string') throw new HttpError('bad_request', 'text must be a string');
  const text = (input.text ?? '').trim();
  if (text === '') throw new HttpError('empty_text', 'there is no text to speak');
  if (text.length > maxChars) throw new HttpError('text_too_long', `the text has ${text.length} characters; the limit is ${maxChars}`);

  let speed = 1;
  if (input.speed !== undefined && input.speed !== null && input.speed !== '') {
    speed = typeof input.speed === 'string' ? Number(input.speed) : (input.speed as number);
    if (typeof speed !== 'number' || !Number.isFinite(speed) || speed < MIN_SPEED || speed > MAX_SPEED) {
      throw new HttpError('bad_request', `speed must be a number from ${MIN_SPEED} to ${MAX_SPEED}`);
    }
  }

  const health = tts.health();
  if (!health.ready) throw new HttpError('tts_unavailable', `speech synthesis is not available: ${health.detail ?? 'not ready'}`);
  if (input.voice === undefined || input.voice === null || input.voice === '') return { text, speed };
  if (typeof input.voice !== 'string') throw new HttpError('bad_request', 'voice must be a string');
  const voices = tts.voices().map((v) => v.id);
  if (!voices.includes(input.voice)) {
    const some = voices.slice(0, VOICES_IN_MESSAGE).join(', ');
    const more = voices.length > VOICES_IN_MESSAGE ? `, … (${voices.length} in all: GET /api/voice/voices)` : '';
    throw new HttpError('unknown_voice', `unknown voice ${JSON.stringify(input.voice)}; available: ${some}${more}`);
  }
  return { text, voice: input.voice, speed };
}

/** Converts on the codec workers when there are some (`jobs`), else inline. */
export function resampleWith(jobs: Pick<AudioJobs, 'resample'> | undefined, samples: Float32Array, fromRate: number, toRate: number): Promise<Float32Array> {
  if (fromRate === toRate) return Promise.resolve(samples);
  return jobs ? jobs.resample(samples, fromRate, toRate) : resample(samples, fromRate, toRate);
}

/** Synthesizes one sentence after another; each result is at the rate of the first. */
export async function* synthesizeSentences(
  tts: TtsProvider,
  request: SpeechRequest,
  signal: AbortSignal,
  jobs?: Pick<AudioJobs, 'resample'>,
): AsyncGenerator<SentenceAudio> {
  let rate: number | undefined;
  for (const sentence of splitSentences(request.text)) {
    let audio;
    try {
      audio = await tts.synthesize(sentence, { voice: request.voice, speed: request.speed, signal });
    } catch (err) {
      if (signal.aborted) throw new HttpError('bad_request', 'the request was cancelled');
      if (err instanceof ProviderError) throw new HttpError('tts_unavailable', `speech synthesis failed: ${err.message}`);
      throw err;
    }
    rate ??= audio.sampleRate;
    const samples = await resampleWith(jobs, audio.samples, audio.sampleRate, rate);
    yield { sentence, samples, sampleRate: rate };
  }
}

/** The whole text as one clip. */
export async function synthesizeText(
  tts: TtsProvider,
  request: SpeechRequest,
  signal: AbortSignal,
  jobs?: Pick<AudioJobs, 'resample'>,
): Promise<{ samples: Float32Array; sampleRate: number }> {
  const parts: Float32Array[] = [];
  let sampleRate = 0;
  for await (const part of synthesizeSentences(tts, request, signal, jobs)) {
    parts.push(part.samples);
    sampleRate = part.sampleRate;
  }
  return { samples: concatFloat32(parts), sampleRate };
}
