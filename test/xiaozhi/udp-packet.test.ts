/** The xiaozhi UDP audio datagram (protocol/xiaozhi/udp-packet.ts): header layout and AES-128-CTR as OpenSSL does it. */
import { createCipheriv, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { readUdpHeader, sealUdpPacket, udpFramingProblem, udpNonce, UDP_HEADER_BYTES, UDP_MAX_PAYLOAD_BYTES, XiaozhiUdpCipher } from '../../protocol/xiaozhi/index.ts';

/** Node's own aes-128-ctr, a fresh cipher per packet: what the official gateway does. */
function reference(key: Buffer, iv: Buffer, data: Uint8Array): Buffer {
  const cipher = createCipheriv('aes-128-ctr', key, iv);
  return Buffer.concat([cipher.update(data), cipher.final()]);
}

describe('xiaozhi UDP packets', () => {
  it('the nonce is a header with type 1, the ssrc and zeros; each packet writes length, timestamp and sequence into it', () => {
    const nonce = udpNonce(0xdeadbeef);
    expect(nonce.toString('hex')).toBe('01000000deadbeef0000000000000000');
    const datagram = sealUdpPacket(new XiaozhiUdpCipher(randomBytes(16)), nonce, new Uint8Array(100), 1234, 7);
    expect(datagram).toHaveLength(UDP_HEADER_BYTES + 100);
    expect(readUdpHeader(datagram)).toEqual({ type: 1, payloadLength: 100, ssrc: 0xdeadbeef, timestamp: 1234, sequence: 7 });
    expect(udpFramingProblem(datagram)).toBeNull();
  });

  it.each([1, 15, 16, 17, 180, 1500, UDP_MAX_PAYLOAD_BYTES])('encrypts %i bytes exactly as aes-128-ctr with the header as IV, and decrypts in place', (length) => {
    const key = randomBytes(16);
    const cipher = new XiaozhiUdpCipher(key);
    const payload = randomBytes(length);
    const datagram = sealUdpPacket(cipher, udpNonce(42), payload, 99, 5);
    const iv = datagram.subarray(0, UDP_HEADER_BYTES);
    expect(datagram.subarray(UDP_HEADER_BYTES).equals(reference(key, Buffer.from(iv), payload))).toBe(true);
    const body = datagram.subarray(UDP_HEADER_BYTES);
    cipher.apply(iv, body, body);
    expect(body.equals(payload)).toBe(true);
  });

  it('counts over the whole 128-bit block, carrying into the timestamp (as OpenSSL and the firmware do)', () => {
    const key = randomBytes(16);
    const iv = Buffer.from('01000050000000010000ffffffffffff', 'hex');
    const payload = randomBytes(64);
    const out = Buffer.alloc(64);
    new XiaozhiUdpCipher(key).apply(iv, payload, out);
    expect(out.equals(reference(key, iv, payload))).toBe(true);
  });

  it('reports framing problems before any key is used', () => {
    const good = sealUdpPacket(new XiaozhiUdpCipher(randomBytes(16)), udpNonce(1), new Uint8Array(10), 0, 1);
    expect(udpFramingProblem(good.subarray(0, 15))).toBe('short');
    expect(udpFramingProblem(Buffer.concat([Buffer.of(2), good.subarray(1)]))).toBe('type');
    expect(udpFramingProblem(good.subarray(0, 20))).toBe('length');
    expect(udpFramingProblem(Buffer.concat([good, Buffer.of(0)]))).toBe('length');
  });

  it('refuses a key that is not 16 bytes and a payload over the limit', () => {
    expect(() => new XiaozhiUdpCipher(randomBytes(32))).toThrow(RangeError);
    expect(() => new XiaozhiUdpCipher(randomBytes(16)).apply(udpNonce(1), new Uint8Array(UDP_MAX_PAYLOAD_BYTES + 1), new Uint8Array(UDP_MAX_PAYLOAD_BYTES + 1))).toThrow(RangeError);
  });
});
