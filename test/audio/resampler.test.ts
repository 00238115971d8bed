import { describe, expect, it } from 'vitest';
import { getResampler, resample, resamplerStats } from '../../audio/resampler.ts';
import { rms, sine, toneAmplitude } from './signal.ts';

describe('resampler', () => {
  it.each([16000, 24000])('converts a 22050 Hz tone to %i Hz keeping frequency, energy and duration', async (to) => {
    const source = sine(1000, 22050, 2, 0.5);
    const out = await resample(source, 22050, to);
    expect(Math.abs(out.length - (source.length * to) / 22050)).toBeLessThanOrEqual(2);
    // judge the steady middle (the sinc filter rings at the clip's edges)
    const mid = [Math.round(to * 0.2), Math.round(to * 1.8)] as const;
    expect(toneAmplitude(out, 1000, to, ...mid)).toBeCloseTo(0.5, 2);
    expect(rms(out, ...mid)).toBeCloseTo(0.5 / Math.SQRT2, 2);
    // the tone sits at 1 kHz, not at a neighbour
    expect(toneAmplitude(out, 1100, to, ...mid)).toBeLessThan(0.01);
  });

  it('removes content above the new Nyquist frequency instead of aliasing it', async () => {
    // 9 kHz fits at 22050 Hz but not at 16000 Hz, where a naive resampler folds it to 7 kHz.
    const out = await resample(sine(9000, 22050, 1, 0.5), 22050, 16000);
    const mid = [3200, 12800] as const;
    expect(rms(out, ...mid)).toBeLessThan(0.005);
    expect(toneAmplitude(out, 7000, 16000, ...mid)).toBeLessThan(0.005);
  });

  it('upsamples too, and passes equal rates through', async () => {
    const up = await resample(sine(500, 16000, 1, 0.3), 16000, 24000);
    expect(up.length).toBeGreaterThanOrEqual(23998);
    expect(toneAmplitude(up, 500, 24000, 4800, 19200)).toBeCloseTo(0.3, 2);
    const same = sine(500, 16000, 0.1);
    expect(await resample(same, 16000, 16000)).toBe(same);
  });

  it('shares one converter per rate pair and handles clips longer than its transfer buffer', async () => {
    const a = await getResampler(22050, 24000);
    const long = sine(300, 22050, 60, 0.2); // 1.3 M samples: over the 1,008,000-sample buffer
    const out = a.resample(long);
    expect(Math.abs(out.length - 60 * 24000)).toBeLessThan(50);
    expect(toneAmplitude(out, 300, 24000, 24000 * 50, 24000 * 51)).toBeCloseTo(0.2, 2);
    // no click where pieces join: the second difference of a 300 Hz tone stays tiny everywhere
    let worst = 0;
    for (let i = 24000; i < out.length - 24000; i++) worst = Math.max(worst, Math.abs(out[i + 1]! - 2 * out[i]! + out[i - 1]!));
    expect(worst).toBeLessThan(0.002);
    await expect(resample(new Float32Array(10), 0, 16000)).rejects.toThrow(RangeError);
  });

  // libsamplerate-js's own path for calls over its 1,008,000-sample buffers truncates (16 kHz → 48 kHz:
  // 24 s came back as 4,860 samples, 60 s as the right length of garbage), so the resampler never makes one.
  it.each([
    [22050, 16000],
    [16000, 24000],
    [48000, 16000],
    [16000, 48000],
    [44100, 16000],
  ])('converts a 60 s clip from %i Hz to %i Hz whole: exactly round(n × to / from) samples, every one right', async (from, to) => {
    const tone = (rate: number, i: number) => 0.5 * Math.sin((2 * Math.PI * 1000 * i) / rate);
    const source = new Float32Array(60 * from);
    for (let i = 0; i < source.length; i++) source[i] = tone(from, i);
    const out = await resample(source, from, to);
    expect(out.length).toBe(Math.round((source.length * to) / from));
    // the last second is still the 1 kHz tone at full amplitude (short of the filter's ringing at the very end)
    const lastSecond = [out.length - to, out.length - Math.round(to / 20)] as const;
    expect(toneAmplitude(out, 1000, to, ...lastSecond)).toBeCloseTo(0.5, 2);
    expect(toneAmplitude(out, 1100, to, ...lastSecond)).toBeLessThan(0.01);
    // and every sample sits where the ideal tone at the new rate puts it: none dropped, repeated or garbled
    let worst = 0;
    for (let i = to / 20; i < out.length - to / 20; i++) worst = Math.max(worst, Math.abs(out[i]! - tone(to, i)));
    expect(worst).toBeLessThan(0.001);
  });

  it('keeps converters only for the engines\' and devices\' rates: 60 odd rates add one scratch converter, and every clip comes out right', async () => {
    await resample(sine(300, 16000, 0.1), 16000, 24000); // a cached pair
    await resample(sine(300, 40000, 0.1), 40000, 16000); // the scratch converter exists from here on
    const before = resamplerStats();
    const rssBefore = process.memoryUsage.rss();
    for (let i = 0; i < 60; i++) {
      const rate = 30_011 + i * 379;
      const out = await resample(sine(1000, rate, 12, 0.5), rate, 16000);
      expect(out.length).toBe(Math.round(12 * rate * (16000 / rate)));
      expect(toneAmplitude(out, 1000, 16000, 16000, 16000 * 11)).toBeCloseTo(0.5, 2);
      // and back up, through the same scratch converter set to another pair
      const up = await resample(out.subarray(0, 16000), 16000, rate);
      expect(up.length).toBe(rate);
    }
    const after = resamplerStats();
    expect(after.converters).toBe(before.converters);
    expect(after.built).toBe(before.built);
    // 120 cached converters would hold ~500 MB.
    expect((process.memoryUsage.rss() - rssBefore) / 1024 / 1024).toBeLessThan(60);
  });

  it.each([
    [22050, 24000, 60],
    [22050, 16000, 60],
    [16000, 24000, 20],
    [24000, 16000, 60],
    [44100, 16000, 2], // a clip longer than the transfer buffer: the rest goes in pieces
  ])('converts %i Hz → %i Hz head first (%i s): as many samples as a whole conversion, joined without a seam', async (from, to, seconds) => {
    const tone = (rate: number, i: number) => 0.5 * Math.sin((2 * Math.PI * 440 * i) / rate);
    const source = new Float32Array(seconds * from);
    for (let i = 0; i < source.length; i++) source[i] = tone(from, i);
    const resampler = await getResampler(from, to);
    const whole = resampler.resample(source);
    const { head, rest } = resampler.resampleHeadFirst(source, (to * 240) / 1000);
    expect(head.length).toBeGreaterThanOrEqual((to * 240) / 1000);
    expect(head.length).toBeLessThan(whole.length / 2);
    const joined = new Float32Array(whole.length);
    joined.set(head);
    const tail = rest();
    expect(head.length + tail.length).toBe(whole.length);
    joined.set(tail, head.length);
    // every sample, the seam included, as the whole conversion has it (short of the filter's ringing at the very end)
    let worst = 0;
    for (let i = 0; i < whole.length - to / 20; i++) worst = Math.max(worst, Math.abs(joined[i]! - whole[i]!));
    expect(worst).toBeLessThan(1e-3);
  });

  it('gives a clip barely longer than the head whole, as the head', async () => {
    const resampler = await getResampler(16000, 24000);
    const clip = sine(440, 16000, 0.3, 0.5);
    const { head, rest } = resampler.resampleHeadFirst(clip, 5760);
    expect(Array.from(head)).toEqual(Array.from(resampler.resample(clip)));
    expect(rest().length).toBe(0);
  });
});
