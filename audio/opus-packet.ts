/**
 * Structural check of one Opus packet (RFC 6716 §3.1–3.4), without decoding it: the TOC
 * byte's configuration gives the frame duration, its code the frame count, and the packet
 * must obey requirements R1–R7 (frame lengths that add up, ≤ 1275 bytes a frame, ≤ 120 ms
 * in all). Pure arithmetic, a few dozen operations a packet, so it can run on the event loop.
 *
 * Used where bytes arrive with no integrity check of their own: stock xiaozhi firmware's UDP
 * audio is AES-CTR without authentication, so a datagram under a wrong key decrypts to
 * garbage that only this check can tell from audio (gateway/xiaozhi/mqtt-udp/).
 */

/** RFC 6716 §3.2.1: no frame is longer than 1275 bytes. */
export const OPUS_MAX_FRAME_BYTES = 1275;
/** R5: a packet lasts at most 120 ms (in tenths of a millisecond, the unit below: 2.5 ms frames are whole). */
const MAX_PACKET_TENTHS = 1200;

/** Frame duration of each TOC configuration (§3.1, Table 2), in tenths of a millisecond. */
const FRAME_TENTHS: readonly number[] = [
  // 0–11 SILK-only NB, MB, WB: 10, 20, 40, 60 ms
  100, 200, 400, 600, 100, 200, 400, 600, 100, 200, 400, 600,
  // 12–15 Hybrid SWB, FB: 10, 20 ms
  100, 200, 100, 200,
  // 16–31 CELT-only NB, WB, SWB, FB: 2.5, 5, 10, 20 ms
  25, 50, 100, 200, 25, 50, 100, 200, 25, 50, 100, 200, 25, 50, 100, 200,
];

/**
 * A frame length as codes 2 and 3 write it (§3.2.1): one byte 0–251, or two bytes
 * (first 252–255) meaning first + 4 × second. Returns [length, bytes used] or null past `end`.
 */
function frameLength(packet: Uint8Array, at: number, end: number): [number, number] | null {
  if (at >= end) return null;
  const first = packet[at]!;
  if (first < 252) return [first, 1];
  if (at + 1 >= end) return null;
  return [first + 4 * packet[at + 1]!, 2];
}

/**
 * How long `packet` plays, in tenths of a millisecond (600 for 60 ms), or null when it is not
 * a well-formed Opus packet. A packet of only a TOC byte (DTX, a zero-length frame) is valid.
 */
export function opusPacketDurationTenthsMs(packet: Uint8Array): number | null {
  const n = packet.length;
  if (n < 1) return null; // R1
  const toc = packet[0]!;
  const frameTenths = FRAME_TENTHS[toc >> 3]!;
  switch (toc & 0x03) {
    case 0: // one frame
      return n - 1 <= OPUS_MAX_FRAME_BYTES ? frameTenths : null; // R2
    case 1: // two frames of equal size
      return (n - 1) % 2 === 0 && (n - 1) / 2 <= OPUS_MAX_FRAME_BYTES ? 2 * frameTenths : null; // R3
    case 2: {
      // two frames, the first one's length written out
      const first = frameLength(packet, 1, n);
      if (!first) return null; // R4
      const [length, used] = first;
      const second = n - 1 - used - length;
      return length <= OPUS_MAX_FRAME_BYTES && second >= 0 && second <= OPUS_MAX_FRAME_BYTES ? 2 * frameTenths : null; // R4
    }
    default:
      return code3Duration(packet, frameTenths);
  }
}

/** Code 3: a frame count byte (VBR flag, padding flag, M), optional padding, then M frames (§3.2.5). */
function code3Duration(packet: Uint8Array, frameTenths: number): number | null {
  const n = packet.length;
  if (n < 2) return null; // R6
  const countByte = packet[1]!;
  const vbr = (countByte & 0x80) !== 0;
  const padded = (countByte & 0x40) !== 0;
  const count = countByte & 0x3f;
  if (count === 0 || count * frameTenths > MAX_PACKET_TENTHS) return null; // R5
  let at = 2;
  let padding = 0;
  if (padded) {
    // Each 255 adds 254 bytes and continues; the first other value ends the padding length.
    for (;;) {
      if (at >= n) return null;
      const value = packet[at++]!;
      padding += value === 255 ? 254 : value;
      if (value !== 255) break;
    }
  }
  let remaining = n - at - padding;
  if (remaining < 0) return null;
  if (!vbr) {
    // R6: CBR frames share what is left equally.
    return remaining % count === 0 && remaining / count <= OPUS_MAX_FRAME_BYTES ? count * frameTenths : null;
  }
  // R7: M−1 lengths written out, the last frame takes the rest.
  for (let i = 0; i < count - 1; i++) {
    const length = frameLength(packet, at, n - padding);
    if (!length) return null;
    at += length[1];
    remaining -= length[1] + length[0];
    if (length[0] > OPUS_MAX_FRAME_BYTES || remaining < 0) return null;
  }
  return remaining <= OPUS_MAX_FRAME_BYTES ? count * frameTenths : null;
}
