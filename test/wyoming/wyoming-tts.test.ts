/**
 * Text-to-speech over Wyoming, as Home Assistant's tts.py drives it: `synthesize` gets one
 * audio group (HA reads until the first audio-stop); the streaming form (synthesize-start,
 * synthesize-chunks, the duplicate synthesize, synthesize-stop) gets one group per sentence,
 * each sent as soon as its sentence is complete, all in one format, then synthesize-stopped.
 */
import { describe, expect, it } from 'vitest';
import { pcm16ToFloat32 } from '../../audio/pcm16.ts';
import { getResampler } from '../../audio/resampler.ts';
import type { SynthesisOptions, SynthesizedAudio, TtsProvider, TtsVoice } from '../../gateway/speech/types.ts';
import { FakeStt } from '../fakes/fake-stt.ts';
import { FakeTts, FAKE_TTS_RATE, fakeTtsDurationMs } from '../fakes/fake-tts.ts';
import { startTestWyoming } from './helpers.ts';
import type { ClientEvent } from './wyoming-client.ts';

const samplesOf = (events: ClientEvent[]) => events.filter((e) => e.type === 'audio-chunk').reduce((n, e) => n + e.payload.length / 2, 0);
const fakeSamples = (text: string) => Math.round((fakeTtsDurationMs(text) * FAKE_TTS_RATE) / 1000);

/** A second voice at another rate, to check that one answer keeps one format. */
class LowRateTts implements TtsProvider {
  readonly name = 'low';
  readonly requests: Array<{ text: string; voice?: string }> = [];
  health() {
    return { name: this.name, ready: true };
  }
  voices(): TtsVoice[] {
    return [{ id: 'low', provider: this.name, sampleRate: 8000 }];
  }
  async synthesize(text: string, options: SynthesisOptions): Promise<SynthesizedAudio> {
    this.requests.push({ text, voice: options.voice });
    return { samples: Float32Array.from({ length: text.length * 80 }, (_, i) => 0.2 * Math.sin(i / 3)), sampleRate: 8000 };
  }
}

describe('Wyoming synthesis', () => {
  it('synthesize{text}: one audio-start, 1024-sample pcm16 chunks, one audio-stop, all the sentences', async () => {
    const tts = new FakeTts();
    const w = await startTestWyoming({ engines: { stt: new FakeStt(), tts } });
    const client = await w.connect();
    const text = 'Turned on the kitchen light. It is 21 degrees.';
    client.send('synthesize', { text });
    const events = await client.until('audio-stop');
    expect(events[0]).toMatchObject({ type: 'audio-start', data: { rate: FAKE_TTS_RATE, width: 2, channels: 1 } });
    expect(events.slice(1, -1).every((e) => e.type === 'audio-chunk')).toBe(true);
    for (const chunk of events.slice(1, -1)) expect(chunk.data).toMatchObject({ rate: FAKE_TTS_RATE, width: 2, channels: 1 });
    expect(tts.requests.map((r) => r.text)).toEqual(['Turned on the kitchen light.', 'It is 21 degrees.']);
    const sentenceSamples = [fakeSamples('Turned on the kitchen light.'), fakeSamples('It is 21 degrees.')];
    expect(samplesOf(events)).toBe(sentenceSamples[0]! + sentenceSamples[1]!);
    // 1024 samples a chunk; each sentence's last chunk holds the rest.
    const sizes = events.slice(1, -1).map((e) => e.payload.length / 2);
    const expectedSizes = sentenceSamples.flatMap((n) => Array.from({ length: Math.ceil(n / 1024) }, (_, i) => Math.min(1024, n - i * 1024)));
    expect(sizes).toEqual(expectedSizes);
    // The samples are the voice's own, as pcm16.
    const first = pcm16ToFloat32(events[1]!.payload);
    expect(first[100]).toBeCloseTo(0.3 * Math.sin((2 * Math.PI * 440 * 100) / FAKE_TTS_RATE), 4);
    // Nothing after audio-stop: Home Assistant reads until then; the connection stays usable.
    client.send('describe');
    expect((await client.next())!.type).toBe('info');
  });

  it('streaming: each sentence is spoken as soon as it is complete, one audio group each, then synthesize-stopped', async () => {
    const tts = new FakeTts();
    const w = await startTestWyoming({ engines: { stt: new FakeStt(), tts } });
    const client = await w.connect();
    client.send('synthesize-start', {});
    for (const delta of ['The kitchen ', 'light is on', '. The hall', ' light is off', '. Anything else?']) client.send('synthesize-chunk', { text: delta });
    // Both finished sentences are spoken before the client says it is done.
    const firstGroup = await client.until('audio-stop');
    expect(firstGroup[0]!.type).toBe('audio-start');
    const secondGroup = await client.until('audio-stop');
    expect(tts.requests.map((r) => r.text)).toEqual(['The kitchen light is on.', 'The hall light is off.']);
    client.send('synthesize', { text: 'The kitchen light is on. The hall light is off. Anything else?' }); // the duplicate, ignored
    client.send('synthesize-stop');
    const rest = await client.until('synthesize-stopped');
    expect(rest.map((e) => e.type).filter((t) => t !== 'audio-chunk')).toEqual(['audio-start', 'audio-stop', 'synthesize-stopped']);
    expect(tts.requests.map((r) => r.text)).toEqual(['The kitchen light is on.', 'The hall light is off.', 'Anything else?']);
    for (const [group, text] of [
      [firstGroup, 'The kitchen light is on.'],
      [secondGroup, 'The hall light is off.'],
      [rest, 'Anything else?'],
    ] as const) {
      expect(group[0]).toMatchObject({ type: 'audio-start', data: { rate: FAKE_TTS_RATE, width: 2, channels: 1 } });
      expect(samplesOf(group)).toBe(fakeSamples(text));
    }
  });

  it('keeps the first sentence’s format for the whole answer (a sentence at another rate is resampled)', async () => {
    const low = new LowRateTts();
    const tts = new FakeTts({ fail: (text) => text.startsWith('Second') });
    // A composition-like provider: the fake speaks, except one sentence the low-rate voice speaks.
    const mixed: TtsProvider = {
      name: 'mixed',
      health: () => ({ name: 'mixed', ready: true }),
      voices: () => tts.voices(),
      synthesize: (text, options) => tts.synthesize(text, options).catch(() => low.synthesize(text, options)),
    };
    const w = await startTestWyoming({ engines: { stt: new FakeStt(), tts: mixed } });
    const client = await w.connect();
    client.send('synthesize-start', {});
    client.send('synthesize-chunk', { text: 'First one here. Second one here. Third.' });
    client.send('synthesize-stop');
    const events = await client.until('synthesize-stopped');
    const starts = events.filter((e) => e.type === 'audio-start');
    expect(starts).toHaveLength(3);
    for (const s of starts) expect(s.data.rate).toBe(FAKE_TTS_RATE);
    for (const c of events.filter((e) => e.type === 'audio-chunk')) expect(c.data.rate).toBe(FAKE_TTS_RATE);
    const expectedSecond = (await getResampler(8000, FAKE_TTS_RATE)).resample((await new LowRateTts().synthesize('Second one here.', { signal: new AbortController().signal })).samples);
    const groups = splitGroups(events);
    expect(samplesOf(groups[1]!)).toBe(expectedSecond.length);
  });

  it('voice{name} goes to the provider that owns the voice; an unknown voice is refused with unknown_voice', async () => {
    const tts = new FakeTts();
    const w = await startTestWyoming({ engines: { stt: new FakeStt(), tts } });
    const client = await w.connect();
    client.send('synthesize', { text: 'Hi.', voice: { name: 'tone' } });
    await client.until('audio-stop');
    expect(tts.requests).toHaveLength(1);
    client.send('synthesize', { text: 'Hi.', voice: { name: 'galadriel' } });
    const [error] = await client.rest();
    expect(error).toMatchObject({ type: 'error', data: { code: 'unknown_voice', text: expect.stringContaining('tone') } });
  });

  it('an empty text is a complete, empty answer', async () => {
    const w = await startTestWyoming({ engines: { stt: new FakeStt(), tts: new FakeTts() } });
    const client = await w.connect();
    client.send('synthesize', { text: '   ' });
    expect((await client.until('audio-stop')).map((e) => e.type)).toEqual(['audio-start', 'audio-stop']);
  });

  it('a voice that fails mid-stream is answered with error tts_unavailable, not silence', async () => {
    const tts = new FakeTts({ fail: (text) => text.includes('boom') });
    const w = await startTestWyoming({ engines: { stt: new FakeStt(), tts } });
    const client = await w.connect();
    client.send('synthesize-start', {});
    client.send('synthesize-chunk', { text: 'Fine. Then boom. More.' });
    client.send('synthesize-stop');
    const events = await client.rest();
    expect(events.map((e) => e.type).filter((t) => t !== 'audio-chunk')).toEqual(['audio-start', 'audio-stop', 'error']);
    expect(events.at(-1)!.data).toMatchObject({ code: 'tts_unavailable', text: expect.stringMatching(/fake tts is down/) });
  });

  it('text over wyoming.maxTextChars is refused with text_too_long', async () => {
    const tts = new FakeTts();
    const w = await startTestWyoming({ engines: { stt: new FakeStt(), tts }, settings: { maxTextChars: 40 } });
    const client = await w.connect();
    client.send('synthesize-start', {});
    client.send('synthesize-chunk', { text: 'A short one. ' });
    client.send('synthesize-chunk', { text: 'And then a much longer text that goes past the limit.' });
    const events = await client.rest();
    expect(events.at(-1)).toMatchObject({ type: 'error', data: { code: 'text_too_long' } });
  });
});

function splitGroups(events: ClientEvent[]): ClientEvent[][] {
  const groups: ClientEvent[][] = [];
  for (const e of events) {
    if (e.type === 'audio-start') groups.push([]);
    if (e.type !== 'synthesize-stopped') groups.at(-1)!.push(e);
  }
  return groups;
}
