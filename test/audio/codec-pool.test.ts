/**
 * The codec worker pool: what it hands back is exactly what the same work on this thread
 * gives (byte for byte: same resampler, same libopus, same encoder state carried across
 * clips), the head of each clip comes first, and streams are spread over the workers.
 */
import { pcm16ToFloat32 } from '../../audio/pcm16.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resample } from '../../audio/resampler.ts';
import { CodecPool } from '../../gateway/audio/codec-pool.ts';
import { CLIP_HEAD_MS, inlineReplyCodec } from '../../gateway/audio/reply-codec.ts';
import { createReplyEncoder } from '../../gateway/audio/reply-encoder.ts';
import { quietLogger } from '../speech/helpers/providers.ts';
import { sine } from './signal.ts';

let pool: CodecPool;
beforeAll(async () => {
  pool = await CodecPool.start({ workers: 2, cachedRates: [16000, 22050, 24000], logger: quietLogger() });
});
afterAll(() => pool.close());

const clips = () => [
  { samples: sine(440, 22050, 1.3, 0.4), sampleRate: 22050 },
  { samples: sine(660, 22050, 0.7, 0.3), sampleRate: 22050 },
  { samples: sine(550, 16000, 0.5, 0.3), sampleRate: 16000 }, // a fallback voice at another rate
];

describe('codec pool', () => {
  it.each([
    { format: 'opus', sample_rate: 24000, frame_duration: 60 },
    { format: 'opus', sample_rate: 16000, frame_duration: 20 },
    { format: 'pcm16', sample_rate: 24000, frame_duration: 60 },
  ] as const)('encodes a reply ($format, $sample_rate Hz, $frame_duration ms) exactly as this thread would, head first', async (p) => {
    const params = { ...p, channels: 1 as const };
    const inline = inlineReplyCodec().openReply(params);
    const expected: Uint8Array[][] = [];
    for (const clip of clips()) {
      const encoded = await inline.encode(clip);
      expected.push([...encoded.head, ...(await encoded.rest)]);
    }

    const stream = pool.openReply(params);
    const got: Uint8Array[][] = [];
    const heads: number[] = [];
    for (const clip of clips()) {
      const encoded = await stream.encode(clip);
      heads.push(encoded.head.length);
      got.push([...encoded.head, ...(await encoded.rest)]);
    }
    stream.close();
    expect(got.map((c) => c.map((p) => Buffer.from(p).toString('hex')))).toEqual(expected.map((c) => c.map((p) => Buffer.from(p).toString('hex'))));
    expect(heads).toEqual(expected.map((c) => Math.min(c.length, Math.ceil(CLIP_HEAD_MS / p.frame_duration))));
    // Head first or whole, the audio is the same: as many frames, each sample as the whole-clip conversion has it.
    if (p.format === 'pcm16') {
      const whole = createReplyEncoder(params);
      for (const [i, clip] of clips().entries()) {
        const reference = await whole.encodeClip(clip);
        expect(got[i]!.length).toBe(reference.length);
        const a = pcm16ToFloat32(Buffer.concat(got[i]!));
        const b = pcm16ToFloat32(Buffer.concat(reference));
        let worst = 0;
        for (let k = 0; k < a.length - 1200; k++) worst = Math.max(worst, Math.abs(a[k]! - b[k]!));
        expect(worst).toBeLessThan(1e-3);
      }
    }
  });

  it('resamples off this thread to the same samples, transferring what it owns and copying views', async () => {
    const source = sine(1000, 44100, 1, 0.5);
    const expected = await resample(source, 44100, 16000);
    const view = new Float32Array(source.length + 10).subarray(5, 5 + source.length);
    view.set(source);
    expect(Array.from(await pool.resample(view, 44100, 16000))).toEqual(Array.from(expected));
    expect(view.length).toBe(source.length); // a view is copied: the caller keeps it
    const owned = source.slice();
    expect(Array.from(await pool.resample(owned, 44100, 16000))).toEqual(Array.from(expected));
    expect(owned.length).toBe(0); // its buffer went to the worker
  });

  it('pins streams to the least busy worker and reports what each holds', async () => {
    const params = { format: 'opus', sample_rate: 24000, channels: 1, frame_duration: 60 } as const;
    const streams = [pool.openReply(params), pool.openReply(params), pool.openReply(params), pool.openReply(params)];
    expect((await pool.workerStats()).map((s) => s.replyStreams)).toEqual([2, 2]);
    for (const s of streams) s.close();
    expect((await pool.workerStats()).map((s) => s.replyStreams)).toEqual([0, 0]);
    await expect(streams[0]!.encode(clips()[0]!)).rejects.toThrow(/closed/);
  });
});
