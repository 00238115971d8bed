/**
 * What the session needs to turn synthesized speech into what a device plays: device-ready
 * packets (at the device's rate, in its codec, one packet per `frame_duration` frame). The
 * gateway's implementation is the codec worker pool (codec-pool.ts); `inlineReplyCodec` does
 * the same work on the calling thread, for tools and tests that have no pool.
 */
import type { GatewayAudioParams } from '../../protocol/index.ts';
import type { SynthesizedAudio } from '../speech/types.ts';
import { createReplyEncoder } from './reply-encoder.ts';

/**
 * One clip's packets: the first few as soon as they are encoded (`head`, so the device hears
 * the sentence without waiting for all of it to be encoded), the rest once they are (`rest`).
 */
export interface EncodedClip {
  head: Uint8Array[];
  rest: Promise<Uint8Array[]>;
}

/** Audio of at least this much is handed over first (then the rest of the clip). */
export const CLIP_HEAD_MS = 240;

export interface ReplyStreamEncoder {
  readonly params: GatewayAudioParams;
  /**
   * Resamples one clip to the device rate, cuts it into frames (the last padded with silence)
   * and encodes each as one packet. Clips are encoded in call order, and the codec's state
   * runs on from one clip to the next, as it would for one continuous reply. Resolves when the
   * head of the clip is encoded.
   */
  encode(audio: SynthesizedAudio): Promise<EncodedClip>;
  /** No more clips: frees the encoder. Pending encodes then reject. Idempotent. */
  close(): void;
}

export interface ReplyCodec {
  /** One stream per reply (or per speculative reply: it may be opened before the turn commits to it). */
  openReply(params: GatewayAudioParams): ReplyStreamEncoder;
}

export interface ReplyCodecOptions {
  opusBitrate?: number;
}

/** Encodes on the calling thread (no pool). */
export function inlineReplyCodec(options: ReplyCodecOptions = {}): ReplyCodec {
  return {
    openReply(params) {
      const encoder = createReplyEncoder(params, options);
      let tail: Promise<unknown> = Promise.resolve();
      let closed = false;
      return {
        params,
        encode(audio) {
          // The same head/rest split as the codec workers make, so both give the same packets.
          const job = tail.then(async (): Promise<EncodedClip> => {
            if (closed) throw new Error('reply stream is closed');
            const frames = await encoder.toFramesHeadFirst(audio, Math.ceil(CLIP_HEAD_MS / params.frame_duration));
            const head = frames.head.map((frame) => encoder.encode(frame));
            return { head, rest: Promise.resolve(frames.rest().map((frame) => encoder.encode(frame))) };
          });
          tail = job.catch(() => {});
          return job;
        },
        close() {
          closed = true;
        },
      };
    },
  };
}
