/**
 * The `audio` section of the gateway config: the codec workers that resample, encode and
 * decode audio off the event loop (codec-pool.ts). Pure (zod only): config.ts composes it.
 */
import { z } from 'zod';

export const AudioSchema = z.object({
  /**
   * Codec worker threads. One encodes a reply sentence in a few ms (~9 ms of CPU per second of
   * 24 kHz Opus); one per spare core is plenty, and on two cores one leaves room for the recognizer.
   */
  codecWorkers: z.coerce.number().int().positive().max(32).default(1),
  /** Reply Opus bitrate: speech at 16/24 kHz sounds clean at 24 kbit/s and stays small on MQTT. */
  opusBitrate: z.coerce.number().int().min(6_000).max(510_000).default(24_000),
});
export type AudioConfig = z.infer<typeof AudioSchema>;

/** Environment variable → config path for the audio section (merged into config.ts's ENV_VARS). */
export const AUDIO_ENV_VARS: Record<string, string> = {
  VOXGATE_CODEC_WORKERS: 'audio.codecWorkers',
};
