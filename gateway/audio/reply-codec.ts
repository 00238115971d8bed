/**
 * What the session needs to turn synthesized speech into what a device plays: device-ready
 * packets (at the device's rate, in its codec, one packet per `frame_duration` frame). The
 * gateway's implementation is the codec worker pool (codec-pool.ts); `inlineReplyCodec` does
 * the same work on the calling thread, for tools and tests that have no pool.
 */
import type { GatewayAudioParams } from '../../protocol/index.ts';
import type { SynthesizedAudio } from '../speech/types.ts';
import { createReplyEncoder } from './reply-encoder.ts';

export interface ReplyStreamEncoder {
  readonly params: GatewayAudioParams;
  /**
   * Resamples one clip to the device rate, cuts it into frames (the last padded with silence)
   * and encodes each as one packet. Clips are encoded in call order, and the codec's state
   * runs on from one clip to the next, as it would for one continuous reply.
   */
  encode(audio: SynthesizedAudio): Promise<Uint8Array[]>;
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
          const job = tail.then(() => {
            if (closed) throw new Error('reply stream is closed');
            return encoder.encodeClip(audio);
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
