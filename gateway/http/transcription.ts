/**
 * One whole clip through the streaming recognizer: pushed in device-sized pieces (so
 * streaming providers stream) at the pace the recognizer takes them (its bounded queue),
 * then finished. Engine failures become HTTP errors.
 */
import { ProviderError } from '../providers.ts';
import { STT_SAMPLE_RATE, type SttProvider } from '../speech/types.ts';
import { HttpError } from './http-errors.ts';

/** 100 ms pieces, as a device would send them. */
const PUSH_SAMPLES = STT_SAMPLE_RATE / 10;
/** Between seconds of audio the clip waits for the recognizer to take what it has. */
const PIECES_PER_DRAIN = 10;

export interface TranscriptionResult {
  text: string;
  /** Wall time from the first sample pushed to the final transcript. */
  elapsedMs: number;
}

export async function transcribeClip(
  stt: SttProvider,
  samples: Float32Array,
  options: { language?: string; signal: AbortSignal },
): Promise<TranscriptionResult> {
  const started = performance.now();
  try {
    const stream = stt.createStream({ language: options.language, signal: options.signal });
    for (let at = 0, piece = 1; at < samples.length; at += PUSH_SAMPLES, piece++) {
      stream.push(samples.subarray(at, at + PUSH_SAMPLES));
      if (piece % PIECES_PER_DRAIN === 0) await stream.drain?.();
    }
    const { text } = await stream.finish();
    return { text: text.trim(), elapsedMs: performance.now() - started };
  } catch (err) {
    if (options.signal.aborted) throw new HttpError('bad_request', 'the request was cancelled');
    if (err instanceof ProviderError) throw new HttpError('stt_unavailable', `speech recognition failed: ${err.message}`);
    throw err;
  }
}
