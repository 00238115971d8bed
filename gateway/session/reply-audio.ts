/**
 * One reply's audio: sentence text → TTS → device-ready packets (resampled to the device's
 * rate, encoded in its codec, one packet per frame) from the reply codec (the gateway's codec
 * worker pool), so the event loop only hands audio along. Sentences may be synthesized in
 * parallel, but they are encoded in the order they were asked for: the codec's state runs on
 * from one sentence to the next, as in one continuous stream.
 *
 * A sentence may be prepared before the reply asks for it (`prepare`): e.g. a speculative
 * first sentence synthesized and encoded while the user still talks. When the reply then asks
 * for the same text first, it gets those packets instead of starting again.
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
  /** Starts `sentence(text)` ahead of time; the next `sentence` call with the same text takes it over. */
  prepare(text: string, signal: AbortSignal): void;
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
  const prepared: Array<{ text: string; packets: Promise<EncodedClip> }> = [];

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
    sentence(text, signal) {
      const ahead = prepared[0];
      if (ahead && ahead.text === text) {
        prepared.shift();
        return ahead.packets;
      }
      prepared.length = 0; // the reply went another way: what was prepared is not spoken
      return start(text, signal);
    },
    prepare(text, signal) {
      prepared.push({ text, packets: start(text, signal) });
    },
    close() {
      prepared.length = 0;
      stream.close();
    },
  };
}
