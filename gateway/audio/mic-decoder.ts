/**
 * Microphone packets → 16 kHz mono float32 for the recognizer (docs/protocol.md §2): pcm16 is
 * converted exactly (int16 / 32768); opus is decoded at 16 kHz. A packet that cannot be
 * decoded throws ProtocolError `unsupported_audio`, which the session reports once per turn.
 */
import { MIC_SAMPLE_RATE, ProtocolError, type AudioFormat } from '../../protocol/index.ts';
import { createOpusDecoder, opusPacketDurationMs } from '../../audio/opus.ts';
import { int16ToFloat32, msForSamples, pcm16ToFloat32, PCM16_BYTES_PER_SAMPLE } from '../../audio/pcm16.ts';

export interface MicDecoder {
  readonly format: AudioFormat;
  /** One packet → 16 kHz float32 samples in [-1, 1]. Throws ProtocolError('unsupported_audio'). */
  decode(packet: Uint8Array): Float32Array;
  /** Audio duration of a packet judged from its size/header alone (for rate limiting); null when malformed. */
  durationMs(packet: Uint8Array): number | null;
}

/** One decoder per turn: the Opus decoder carries state from packet to packet. */
export function createMicDecoder(format: AudioFormat): MicDecoder {
  if (format === 'pcm16') {
    return {
      format,
      decode(packet) {
        if (packet.length === 0 || packet.length % PCM16_BYTES_PER_SAMPLE !== 0) {
          throw new ProtocolError('unsupported_audio', `pcm16 packet of ${packet.length} bytes is not a whole number of samples`);
        }
        return pcm16ToFloat32(packet);
      },
      durationMs(packet) {
        return packet.length % PCM16_BYTES_PER_SAMPLE === 0 ? msForSamples(MIC_SAMPLE_RATE, packet.length / PCM16_BYTES_PER_SAMPLE) : null;
      },
    };
  }
  const opus = createOpusDecoder(MIC_SAMPLE_RATE);
  return {
    format,
    decode(packet) {
      try {
        return int16ToFloat32(opus.decode(packet));
      } catch (err) {
        throw new ProtocolError('unsupported_audio', (err as Error).message);
      }
    },
    durationMs: opusPacketDurationMs,
  };
}
