/**
 * One reply's audio: sentence text → TTS → device-ready packets (resampled to the device's
 * rate, encoded in its codec, one packet per frame) from the reply codec (the gateway's codec
 * worker pool), so the event loop only hands audio along. Sentences may be synthesized in
 * parallel, but they are encoded in the order they were asked for: the codec's state runs on
 * from one sentence to the next, as in one continuous stream.
 */
import type { GatewayAudioParams } from '../../protocol/index.ts';
import type { EncodedClip, ReplyCodec } from '../audio/reply-codec.ts';
import type { TtsProvider } from '../speech/types.ts';

export interface ReplyAudio {
  readonly params: GatewayAudioParams;
  /** Milliseconds of audio in each packet. */
  readonly frameMs: number;
  /** Synthesizes `text` and encodes it for the device (resolves with the first packets); rejects with the TTS's error when synthesis fails. */
  sentence(text: string, signal: AbortSignal): Promise<EncodedClip>;
  /** Frees the reply's encoder. Idempotent. */
  close(): void;
}

export interface ReplyAudioOptions {
  tts: TtsProvider;
  codec: ReplyCodec;
  params: GatewayAudioParams;
  voice?: string;
}

export function openReplyAudio(options: ReplyAudioOptions): ReplyAudio {
  const { tts, params } = options;
  const stream = options.codec.openReply(params);
  let lastEncodeRequested: Promise<void> = Promise.resolve();

  const start = (text: string, signal: AbortSignal): Promise<EncodedClip> => {
    const audio = tts.synthesize(text, { signal, voice: options.voice });
    const previous = lastEncodeRequested;
    let requested!: () => void;
    lastEncodeRequested = new Promise((resolve) => (requested = resolve));
    const packets = (async () => {
      let encoding: Promise<EncodedClip>;
      try {
        const synthesized = await audio;
        await previous;
        if (signal.aborted) throw new Error('reply aborted');
        encoding = stream.encode(synthesized);
      } finally {
        requested(); // this sentence's encode (if any) is with the codec: the next one may follow
      }
      return encoding;
    })();
    packets.catch(() => {}); // awaited by the reply (or dropped on abort): never an unhandled rejection
    return packets;
  };

  return {
    params,
    frameMs: params.frame_duration,
    sentence: start,
    close() {
      stream.close();
    },
  };
}
