/** Which audio the protocol allows (docs/protocol.md §2). */
import type { AudioFormat, AudioParams, GatewayAudioParams, ReplyAudio } from './messages.ts';

export const MIC_SAMPLE_RATE = 16000;
export const REPLY_SAMPLE_RATES = [16000, 24000] as const;
export type ReplySampleRate = (typeof REPLY_SAMPLE_RATES)[number];
export const OPUS_FRAME_DURATIONS_MS = [20, 40, 60] as const;
export const PCM16_FRAME_DURATION_RANGE_MS = { min: 20, max: 120 } as const;
/** Reply frames are 60 ms unless the device asked for less: fewer packets, still a small buffer. */
export const DEFAULT_REPLY_FRAME_MS = 60;

export type AudioCheck<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Checks the microphone parameters of `hello`. */
export function checkMicParams(params: AudioParams): AudioCheck<{ format: AudioFormat; frameMs: number }> {
  const { format, sample_rate, channels, frame_duration } = params;
  if (format !== 'opus' && format !== 'pcm16') return { ok: false, reason: `microphone format "${format}" is not opus or pcm16` };
  if (sample_rate !== MIC_SAMPLE_RATE) return { ok: false, reason: `microphone sample rate ${sample_rate} is not ${MIC_SAMPLE_RATE}` };
  if (channels !== 1) return { ok: false, reason: `microphone must be mono, got ${channels} channels` };
  if (format === 'opus' && !(OPUS_FRAME_DURATIONS_MS as readonly number[]).includes(frame_duration)) {
    return { ok: false, reason: `opus frame duration ${frame_duration} ms is not one of ${OPUS_FRAME_DURATIONS_MS.join(', ')}` };
  }
  if (
    format === 'pcm16' &&
    (frame_duration < PCM16_FRAME_DURATION_RANGE_MS.min || frame_duration > PCM16_FRAME_DURATION_RANGE_MS.max)
  ) {
    return { ok: false, reason: `pcm16 frame duration ${frame_duration} ms is outside 20–120 ms` };
  }
  return { ok: true, value: { format, frameMs: frame_duration } };
}

/** Resolves the reply audio a device asked for; `reply_audio` defaults to the uplink format at 16 kHz. */
export function resolveReplyParams(mic: AudioParams, reply: ReplyAudio | undefined): AudioCheck<GatewayAudioParams> {
  const format = reply?.format ?? mic.format;
  const sampleRate = reply?.sample_rate ?? 16000;
  if (format !== 'opus' && format !== 'pcm16') return { ok: false, reason: `reply format "${format}" is not opus or pcm16` };
  if (sampleRate !== 16000 && sampleRate !== 24000) return { ok: false, reason: `reply sample rate ${sampleRate} is not 16000 or 24000` };
  const frameMs =
    format === 'opus' && (OPUS_FRAME_DURATIONS_MS as readonly number[]).includes(mic.frame_duration)
      ? mic.frame_duration
      : DEFAULT_REPLY_FRAME_MS;
  return { ok: true, value: { format, sample_rate: sampleRate, channels: 1, frame_duration: frameMs } };
}

/** Bytes of one pcm16 mono frame of `ms` milliseconds at `rate`. */
export function pcm16FrameBytes(rate: number, ms: number): number {
  return (rate * ms * 2) / 1000;
}
