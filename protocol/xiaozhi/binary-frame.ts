/**
 * Binary WebSocket frames of stock xiaozhi-esp32 firmware (main/protocols/protocol.h
 * BinaryProtocol2/3, websocket_protocol.cc), the same in both directions. The version comes
 * from the `Protocol-Version` header (the OTA answer's `websocket.version`); all fields are
 * big-endian:
 *
 * | version | layout |
 * |---|---|
 * | 1 | the frame is one raw Opus packet |
 * | 2 | u16 version · u16 type · u32 reserved · u32 timestamp · u32 payload_size · payload (16-byte header) |
 * | 3 | u8 type · u8 reserved · u16 payload_size · payload (4-byte header) |
 *
 * type 0 is Opus, 1 JSON. The v2 timestamp carries server-side AEC alignment (unused here: 0).
 */

export const XIAOZHI_PROTOCOL_VERSIONS = [1, 2, 3] as const;
export type XiaozhiProtocolVersion = (typeof XIAOZHI_PROTOCOL_VERSIONS)[number];
export const FRAME_TYPE_OPUS = 0;
export const FRAME_TYPE_JSON = 1;
export const V2_HEADER_BYTES = 16;
export const V3_HEADER_BYTES = 4;

export interface BinaryFrame {
  type: number;
  /** v2 only (0 otherwise). */
  timestamp: number;
  payload: Uint8Array;
}

export type FrameDecodeResult = { ok: true; frame: BinaryFrame } | { ok: false; reason: string };

export function isXiaozhiProtocolVersion(value: unknown): value is XiaozhiProtocolVersion {
  return value === 1 || value === 2 || value === 3;
}

export function encodeBinaryFrame(
  version: XiaozhiProtocolVersion,
  payload: Uint8Array,
  options: { type?: number; timestamp?: number } = {},
): Uint8Array {
  const type = options.type ?? FRAME_TYPE_OPUS;
  if (version === 1) return payload;
  if (version === 2) {
    const out = new Uint8Array(V2_HEADER_BYTES + payload.length);
    const view = new DataView(out.buffer);
    view.setUint16(0, 2);
    view.setUint16(2, type);
    view.setUint32(4, 0);
    view.setUint32(8, (options.timestamp ?? 0) >>> 0);
    view.setUint32(12, payload.length);
    out.set(payload, V2_HEADER_BYTES);
    return out;
  }
  if (payload.length > 0xffff) throw new RangeError(`a v3 frame carries at most 65535 bytes, got ${payload.length}`);
  const out = new Uint8Array(V3_HEADER_BYTES + payload.length);
  const view = new DataView(out.buffer);
  view.setUint8(0, type);
  view.setUint8(1, 0);
  view.setUint16(2, payload.length);
  out.set(payload, V3_HEADER_BYTES);
  return out;
}

/** Reads one frame; a header whose size disagrees with the frame is refused (the firmware would read past it). */
export function decodeBinaryFrame(version: XiaozhiProtocolVersion, data: Uint8Array): FrameDecodeResult {
  if (version === 1) return { ok: true, frame: { type: FRAME_TYPE_OPUS, timestamp: 0, payload: data } };
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (version === 2) {
    if (data.length < V2_HEADER_BYTES) return { ok: false, reason: `v2 frame of ${data.length} bytes is shorter than its 16-byte header` };
    const size = view.getUint32(12);
    if (V2_HEADER_BYTES + size !== data.length) {
      return { ok: false, reason: `v2 header says ${size} payload bytes, the frame has ${data.length - V2_HEADER_BYTES}` };
    }
    return { ok: true, frame: { type: view.getUint16(2), timestamp: view.getUint32(8), payload: data.subarray(V2_HEADER_BYTES) } };
  }
  if (data.length < V3_HEADER_BYTES) return { ok: false, reason: `v3 frame of ${data.length} bytes is shorter than its 4-byte header` };
  const size = view.getUint16(2);
  if (V3_HEADER_BYTES + size !== data.length) {
    return { ok: false, reason: `v3 header says ${size} payload bytes, the frame has ${data.length - V3_HEADER_BYTES}` };
  }
  return { ok: true, frame: { type: view.getUint8(0), timestamp: 0, payload: data.subarray(V3_HEADER_BYTES) } };
}
