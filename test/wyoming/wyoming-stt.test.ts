/**
 * Speech-to-text over Wyoming, as Home Assistant's stt.py drives it (transcribe, audio-start,
 * audio-chunks, audio-stop → transcript), checked against a spec-written client: the exact
 * samples reach the recognizer (also from other rates, widths and channel counts), streamed
 * partials become transcript-chunks that add up to the transcript, in the spec's order.
 */
import { describe, expect, it } from 'vitest';
import { pcm16ToFloat32 } from '../../audio/pcm16.ts';
import { getResampler } from '../../audio/resampler.ts';
import { FakeStt, fakeWords, FAKE_STT_BLOCK_SAMPLES } from '../fakes/fake-stt.ts';
import { FakeTts } from '../fakes/fake-tts.ts';
import { startTestWyoming } from './helpers.ts';
import { pcm16, sendAudio } from './wyoming-client.ts';

/** `blocks` voiced 200 ms blocks (the fake hears one word per block), as a 220 Hz tone. */
function tone(blocks: number, rate = 16000): Float32Array {
  const n = Math.round((blocks * FAKE_STT_BLOCK_SAMPLES * rate) / 16000);
  return Float32Array.from({ length: n }, (_, i) => 0.25 * Math.sin((2 * Math.PI * 220 * i) / rate));
}

describe('Wyoming transcription', () => {
  it('answers transcript{text} for transcribe + audio, giving the recognizer exactly the samples sent', async () => {
    const stt = new FakeStt();
    const w = await startTestWyoming({ engines: { stt, tts: new FakeTts() } });
    const client = await w.connect();
    const bytes = pcm16(tone(3));
    client.send('transcribe', { language: 'en' });
    sendAudio(client, bytes);
    const events = await client.until('transcript-stop');
    const transcript = events.find((e) => e.type === 'transcript')!;
    expect(transcript.data).toEqual({ text: fakeWords(3), language: 'en' });
    expect(stt.lastStream!.samples()).toEqual(pcm16ToFloat32(bytes));
    expect(stt.lastStream!.streamOptions.language).toBe('en');
    // Written as the Python library writes: data in a data_length block, never inline.
    expect(transcript.header).toMatchObject({ type: 'transcript', data_length: expect.any(Number) });
    expect(transcript.header.data).toBeUndefined();
  });

  it('streams partials: transcript-start, transcript-chunks that join to the transcript, transcript, transcript-stop', async () => {
    const stt = new FakeStt();
    const w = await startTestWyoming({ engines: { stt, tts: new FakeTts() } });
    const client = await w.connect();
    client.send('transcribe', {});
    client.send('audio-start', { rate: 16000, width: 2, channels: 1 });
    const audio = pcm16(tone(4));
    // First two words' audio only: partials must arrive before audio-stop.
    const half = 2 * FAKE_STT_BLOCK_SAMPLES * 2;
    for (let i = 0; i < half; i += 640) client.send('audio-chunk', { rate: 16000, width: 2, channels: 1, timestamp: null }, audio.subarray(i, Math.min(half, i + 640)));
    const early = await client.until('transcript-chunk');
    expect(early.map((e) => e.type)).toEqual(['transcript-start', 'transcript-chunk']);
    for (let i = half; i < audio.length; i += 640) client.send('audio-chunk', { rate: 16000, width: 2, channels: 1 }, audio.subarray(i, i + 640));
    client.send('audio-stop', {});
    const rest = await client.until('transcript-stop');
    const all = [...early, ...rest];
    expect(all.map((e) => e.type).filter((t) => t !== 'transcript-chunk')).toEqual(['transcript-start', 'transcript', 'transcript-stop']);
    const chunks = all.filter((e) => e.type === 'transcript-chunk').map((e) => e.data.text as string);
    expect(chunks.length).toBeGreaterThanOrEqual(4);
    const transcript = all.find((e) => e.type === 'transcript')!.data.text;
    expect(transcript).toBe(fakeWords(4));
    expect(chunks.join('')).toBe(transcript);
  });

  it('accepts the inline data form, and chunks without audio-start', async () => {
    const stt = new FakeStt();
    const w = await startTestWyoming({ engines: { stt, tts: new FakeTts() } });
    const client = await w.connect();
    const bytes = pcm16(tone(2));
    client.send('audio-chunk', { rate: 16000, width: 2, channels: 1 }, bytes, 'inline');
    client.send('audio-stop', undefined, undefined, 'inline');
    const events = await client.until('transcript-stop');
    expect(events.find((e) => e.type === 'transcript')!.data.text).toBe(fakeWords(2));
    expect(stt.lastStream!.samples()).toEqual(pcm16ToFloat32(bytes));
  });

  it('converts other formats: 48 kHz stereo 32-bit is mixed down and resampled to 16 kHz', async () => {
    const stt = new FakeStt();
    const w = await startTestWyoming({ engines: { stt, tts: new FakeTts() } });
    const client = await w.connect();
    const left = tone(3, 48000);
    const right = left.map((v) => v * 0.5);
    const bytes = Buffer.alloc(left.length * 8);
    const mono = new Float32Array(left.length);
    for (let i = 0; i < left.length; i++) {
      const l = Math.round(left[i]! * 2 ** 31);
      const r = Math.round(right[i]! * 2 ** 31);
      bytes.writeInt32LE(l, i * 8);
      bytes.writeInt32LE(r, i * 8 + 4);
      mono[i] = (l / 2 ** 31 + r / 2 ** 31) / 2;
    }
    const format = { rate: 48000, width: 4, channels: 2 };
    sendAudio(client, bytes, format, 4800);
    const events = await client.until('transcript-stop');
    const expected = (await getResampler(48000, 16000)).resample(mono);
    expect(stt.lastStream!.samples()).toEqual(expected);
    expect(events.find((e) => e.type === 'transcript')!.data.text).toBe(fakeWords(3));
  });

  it('8-bit unsigned audio is centred (128 is silence)', async () => {
    const stt = new FakeStt();
    const w = await startTestWyoming({ engines: { stt, tts: new FakeTts() } });
    const client = await w.connect();
    sendAudio(client, Buffer.from([128, 255, 0, 128]), { rate: 16000, width: 1, channels: 1 });
    await client.until('transcript-stop');
    expect(Array.from(stt.lastStream!.samples())).toEqual([0, 127 / 128, -1, 0]);
  });

  it('audio-stop without audio gets an empty transcript', async () => {
    const w = await startTestWyoming({ engines: { stt: new FakeStt(), tts: new FakeTts() } });
    const client = await w.connect();
    client.send('transcribe', { language: 'en' });
    client.send('audio-stop', { timestamp: null });
    expect(await client.next()).toMatchObject({ type: 'transcript', data: { text: '' } });
  });

  it('serves one request after another on the same connection, and describe in between', async () => {
    const stt = new FakeStt();
    const w = await startTestWyoming({ engines: { stt, tts: new FakeTts() } });
    const client = await w.connect();
    for (const blocks of [1, 2]) {
      sendAudio(client, pcm16(tone(blocks)));
      const events = await client.until('transcript-stop');
      expect(events.find((e) => e.type === 'transcript')!.data.text).toBe(fakeWords(blocks));
      client.send('describe');
      expect((await client.next())!.type).toBe('info');
    }
    expect(stt.streams).toHaveLength(2);
  });

  it('a recognizer that is down is answered with error stt_unavailable', async () => {
    const w = await startTestWyoming({ engines: { stt: new FakeStt({ fail: 'finish' }), tts: new FakeTts() } });
    const client = await w.connect();
    sendAudio(client, pcm16(tone(1)));
    const events = await client.rest();
    expect(events.map((e) => e.type)).toContain('error');
    expect(events.find((e) => e.type === 'error')!.data).toMatchObject({ code: 'stt_unavailable', text: expect.stringMatching(/fake stt failed on finish/) });
    expect(events.map((e) => e.type)).not.toContain('transcript');
  });

  it('a named model that does not exist is refused (unknown_model), naming the ones that do', async () => {
    const w = await startTestWyoming({ engines: { stt: new FakeStt(), tts: new FakeTts() } });
    const client = await w.connect();
    client.send('transcribe', { name: 'whisper-huge', language: 'en' });
    client.send('audio-start', { rate: 16000, width: 2, channels: 1 });
    const [error] = await client.rest();
    expect(error).toMatchObject({ type: 'error', data: { code: 'unknown_model', text: expect.stringContaining('fake-stt') } });
  });

  it('more audio than wyoming.maxAudioSeconds is refused with audio_too_long, and the stream is released', async () => {
    const stt = new FakeStt();
    const w = await startTestWyoming({ engines: { stt, tts: new FakeTts() }, settings: { maxAudioSeconds: 1 } });
    const client = await w.connect();
    sendAudio(client, pcm16(tone(6)));
    const events = await client.rest();
    expect(events.at(-1)).toMatchObject({ type: 'error', data: { code: 'audio_too_long' } });
    expect(stt.lastStream!.aborted).toBe(true);
  });
});
