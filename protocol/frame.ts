/** The 8-byte big-endian header of every MQTT audio frame (docs/protocol.md §1.3). */

export const FRAME_HEADER_BYTES = 8;
export const FRAME_VERSION = 1;
export const FRAME_KIND = { mic: 1, reply: 2 } as const;
export type FrameKind = (typeof FRAME_KIND)[keyof typeof FRAME_KIND];

export interface AudioFrame {
  kind: FrameKind;
  /** Frame number within the turn, from 0, wrapping at 65536. */
  seq: number;
  /** Turn id: `listen start` (up) or `tts start` (down). */
  turn: number;
  /** One codec packet. */
  payload: Uint8Array;
}

export function encodeAudioFrame(frame: AudioFrame): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + frame.payload.length);
  out.writeUInt8(FRAME_VERSION, 0);
  out.writeUInt8(frame.kind, 1);
  out.writeUInt16BE(frame.seq & 0xffff, 2);
  out.writeUInt32BE(frame.turn >>> 0, 4);
  out.set(frame.payload, FRAME_HEADER_BYTES);
  return out;
}

export type DecodedFrame = { ok: true; frame: AudioFrame } | { ok: false; reason: string };

export function decodeAudioFrame(data: Uint8Array): DecodedFrame {
  if (data.length < FRAME_HEADER_BYTES) return { ok: false, reason: `audio frame shorter than its ${FRAME_HEADER_BYTES}-byte header` };
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const version = view.getUint8(0);
  if (version !== FRAME_VERSION) return { ok: false, reason: `audio frame version ${version} is not ${FRAME_VERSION}` };
  const kind = view.getUint8(1);
  if (kind !== FRAME_KIND.mic && kind !== FRAME_KIND.reply) return { ok: false, reason: `audio frame kind ${kind} is unknown` };
  return {
    ok: true,
    frame: {
      kind,
      seq: view.getUint16(2),
      turn: view.getUint32(4),
      payload: data.subarray(FRAME_HEADER_BYTES),
    },
  };
}

/** Distance from `from` to `to` in the 16-bit wrapping sequence space, in [-32768, 32767]. */
export function seqDelta(from: number, to: number): number {
  return ((((to - from) & 0xffff) + 0x8000) & 0xffff) - 0x8000;
}
