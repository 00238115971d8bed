/** Binary frames of stock xiaozhi firmware (protocol.h BinaryProtocol2/3): byte layout both ways, and frames that lie about their size. */
import { describe, expect, it } from 'vitest';
import { decodeBinaryFrame, encodeBinaryFrame, FRAME_TYPE_JSON } from '../../protocol/xiaozhi/index.ts';

const payload = Uint8Array.of(1, 2, 3, 4, 5);

describe('xiaozhi binary frames', () => {
  it('v1 is the raw packet', () => {
    expect(encodeBinaryFrame(1, payload)).toBe(payload);
    expect(decodeBinaryFrame(1, payload)).toEqual({ ok: true, frame: { type: 0, timestamp: 0, payload } });
  });

  it('v2: u16 version, u16 type, u32 reserved, u32 timestamp, u32 size, big-endian', () => {
    const frame = encodeBinaryFrame(2, payload, { timestamp: 0x01020304 });
    expect([...frame]).toEqual([0, 2, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 0, 0, 0, 5, 1, 2, 3, 4, 5]);
    expect(decodeBinaryFrame(2, frame)).toEqual({ ok: true, frame: { type: 0, timestamp: 0x01020304, payload } });
    expect(decodeBinaryFrame(2, encodeBinaryFrame(2, payload, { type: FRAME_TYPE_JSON }))).toMatchObject({ ok: true, frame: { type: 1 } });
  });

  it('v3: u8 type, u8 reserved, u16 size, big-endian', () => {
    const frame = encodeBinaryFrame(3, payload);
    expect([...frame]).toEqual([0, 0, 0, 5, 1, 2, 3, 4, 5]);
    expect(decodeBinaryFrame(3, frame)).toEqual({ ok: true, frame: { type: 0, timestamp: 0, payload } });
    expect(() => encodeBinaryFrame(3, new Uint8Array(70_000))).toThrow(/at most 65535/);
  });

  it('refuses a header whose size disagrees with the frame, or a frame shorter than its header', () => {
    const v2 = encodeBinaryFrame(2, payload);
    expect(decodeBinaryFrame(2, v2.subarray(0, 20))).toEqual({ ok: false, reason: 'v2 header says 5 payload bytes, the frame has 4' });
    expect(decodeBinaryFrame(2, Uint8Array.of(...v2, 9))).toMatchObject({ ok: false, reason: /says 5 payload bytes, the frame has 6/ });
    expect(decodeBinaryFrame(2, new Uint8Array(15))).toMatchObject({ ok: false, reason: /shorter than its 16-byte header/ });
    const v3 = encodeBinaryFrame(3, payload);
    expect(decodeBinaryFrame(3, v3.subarray(0, 8))).toMatchObject({ ok: false, reason: /v3 header says 5 payload bytes, the frame has 4/ });
    expect(decodeBinaryFrame(3, Uint8Array.of(0, 0, 0))).toMatchObject({ ok: false, reason: /shorter than its 4-byte header/ });
  });
});
