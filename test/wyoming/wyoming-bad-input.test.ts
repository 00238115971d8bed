/**
 * Malformed input never crashes the Wyoming server nor disturbs another client: a non-JSON
 * header, lengths that lie, data that is not JSON, unknown events, a header line that never
 * ends, a client that stops mid-payload; and the limits: over-limit requests get `busy`,
 * clients outside wyoming.allow are refused at connect.
 */
import { describe, expect, it } from 'vitest';
import { MAX_HEADER_BYTES } from '../../gateway/wyoming/wyoming-framing.ts';
import { FakeStt, fakeWords, FAKE_STT_BLOCK_SAMPLES } from '../fakes/fake-stt.ts';
import { FakeTts } from '../fakes/fake-tts.ts';
import { startTestWyoming, withResampler, type TestWyoming } from './helpers.ts';
import { pcm16, sendAudio, WyomingClient } from './wyoming-client.ts';

const voiced = (blocks: number) => pcm16(Float32Array.from({ length: blocks * FAKE_STT_BLOCK_SAMPLES }, (_, i) => 0.25 * Math.sin(i / 5)));
const engines = () => ({ stt: new FakeStt(), tts: new FakeTts() });

/** The server still serves: a new client gets info and a transcription. */
async function stillServes(w: TestWyoming): Promise<void> {
  const client = await w.connect();
  client.send('describe');
  expect((await client.next())!.type).toBe('info');
  sendAudio(client, voiced(1));
  const events = await client.until('transcript-stop');
  expect(events.find((e) => e.type === 'transcript')!.data.text).toBe(fakeWords(1));
}

describe('Wyoming bad input', () => {
  it('a header that is not JSON gets error bad_request, the connection closes, the server serves on', async () => {
    const w = await startTestWyoming({ engines: engines() });
    const client = await w.connect();
    client.raw('this is not json\n');
    const events = await client.rest();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'error', data: { code: 'bad_request', text: 'header line is not JSON' } });
    await client.closed;
    expect(w.log.matching('wyoming request refused')).toHaveLength(1);
    await stillServes(w);
  });

  it('headers that are JSON but not events: no type, an array, negative or fractional lengths, data not an object', async () => {
    const w = await startTestWyoming({ engines: engines() });
    for (const [line, text] of [
      ['{"data":{}}', /no event type/],
      ['[1,2,3]', /not a JSON object/],
      ['{"type":"audio-chunk","payload_length":-4}', /payload_length must be a non-negative integer/],
      ['{"type":"describe","data_length":1.5}', /data_length must be a non-negative integer/],
      ['{"type":"describe","data":"text"}', /header data is not a JSON object/],
      ['{"type":"audio-chunk","payload_length":99999999999}', /over the limit/],
    ] as const) {
      const client = await w.connect();
      client.raw(`${line}\n`);
      const [error] = await client.rest();
      expect(error!.data, line).toMatchObject({ code: 'bad_request', text: expect.stringMatching(text) });
    }
    await stillServes(w);
  });

  it('data_length that does not match the data (what follows is not JSON) gets bad_request', async () => {
    const w = await startTestWyoming({ engines: engines() });
    const client = await w.connect();
    const data = JSON.stringify({ text: 'hello' });
    client.raw(`{"type":"synthesize","data_length":${data.length - 3}}\n${data}`);
    const [error] = await client.rest();
    expect(error).toMatchObject({ type: 'error', data: { code: 'bad_request', text: expect.stringMatching(/not JSON/) } });
    await stillServes(w);
  });

  it('a client that announces more payload than it sends, then closes: the stream is released, nothing breaks', async () => {
    const stt = new FakeStt();
    const w = await startTestWyoming({ engines: { stt, tts: new FakeTts() } });
    const client = await w.connect();
    client.send('audio-start', { rate: 16000, width: 2, channels: 1 });
    client.send('audio-chunk', { rate: 16000, width: 2, channels: 1 }, voiced(1));
    client.raw('{"type":"audio-chunk","data":{"rate":16000,"width":2,"channels":1},"payload_length":6400}\n');
    client.raw(Buffer.alloc(1000));
    await expect.poll(() => stt.streams.length).toBe(1);
    client.socket.end();
    await client.closed;
    await expect.poll(() => stt.lastStream!.aborted).toBe(true);
    expect(w.server.health().detail).toMatch(/0\/4 requests/);
    await stillServes(w);
  });

  it('a client that stops mid-payload and stays silent is disconnected after wyoming.idleTimeoutMs', async () => {
    const stt = new FakeStt();
    const w = await startTestWyoming({ engines: { stt, tts: new FakeTts() }, settings: { idleTimeoutMs: 300 } });
    const client = await w.connect();
    client.send('audio-start', { rate: 16000, width: 2, channels: 1 });
    client.raw('{"type":"audio-chunk","data":{"rate":16000,"width":2,"channels":1},"payload_length":6400}\n' + 'x'.repeat(100));
    const started = Date.now();
    await client.closed;
    expect(Date.now() - started).toBeLessThan(5_000);
    await expect.poll(() => stt.lastStream!.aborted).toBe(true);
    await stillServes(w);
  });

  it('a header line that never ends is cut off at the limit, not buffered without bound', async () => {
    const w = await startTestWyoming({ engines: engines() });
    const client = await w.connect();
    const piece = Buffer.alloc(16 * 1024, 'a');
    let sent = 0;
    while (sent <= MAX_HEADER_BYTES + piece.length && !client.socket.destroyed) {
      client.raw(piece);
      sent += piece.length;
    }
    const [error] = await client.rest();
    expect(error).toMatchObject({ type: 'error', data: { code: 'bad_request', text: expect.stringMatching(/header line longer than 65536 bytes/) } });
    await stillServes(w);
  });

  it('unknown events are ignored: the connection keeps working', async () => {
    const w = await startTestWyoming({ engines: engines() });
    const client = await w.connect();
    client.send('run-satellite');
    client.send('detect', { names: ['ok_nabu'] });
    client.send('no-such-event', { x: 1 }, Buffer.from([1, 2, 3]));
    client.send('ping', { text: 'still there?' });
    expect(await client.next()).toMatchObject({ type: 'pong', data: { text: 'still there?' } });
    client.send('describe');
    expect((await client.next())!.type).toBe('info');
  });

  it('audio-chunk without its format, or with a payload that is not whole frames, gets bad_audio', async () => {
    const w = await startTestWyoming({ engines: engines() });
    for (const [data, payload, text] of [
      [{ rate: 16000, width: 2 }, Buffer.alloc(4), /rate, width and channels/],
      [{ rate: 16000, width: 2, channels: 1 }, Buffer.alloc(5), /not a whole number/],
      [{ rate: 16000, width: 5, channels: 1 }, Buffer.alloc(10), /width 5/],
      [{ rate: 1000000, width: 2, channels: 1 }, Buffer.alloc(4), /sample rate/],
    ] as const) {
      const client = await w.connect();
      client.send('audio-chunk', data, payload);
      const [error] = await client.rest();
      expect(error!.data, JSON.stringify(data)).toMatchObject({ code: 'bad_audio', text: expect.stringMatching(text) });
    }
    await stillServes(w);
  });
});

describe('Wyoming limits', () => {
  it('an over-limit request gets error busy; describe is still answered; the running one completes', async () => {
    const stt = new FakeStt();
    const w = await startTestWyoming({ engines: { stt, tts: new FakeTts() }, settings: { maxJobs: 1 } });
    const first = await w.connect();
    first.send('audio-start', { rate: 16000, width: 2, channels: 1 });
    first.send('audio-chunk', { rate: 16000, width: 2, channels: 1 }, voiced(1));
    await expect.poll(() => stt.streams.length).toBe(1);

    const second = await w.connect();
    second.send('describe');
    expect((await second.next())!.type).toBe('info');
    second.send('synthesize', { text: 'Hello there.' });
    expect(await second.rest()).toEqual([expect.objectContaining({ type: 'error', data: { code: 'busy', text: expect.stringMatching(/already running 1 Wyoming request/) } })]);

    first.send('audio-chunk', { rate: 16000, width: 2, channels: 1 }, voiced(1));
    first.send('audio-stop', {});
    const events = await first.until('transcript-stop');
    expect(events.find((e) => e.type === 'transcript')!.data.text).toBe(fakeWords(2));
    // The slot is free again.
    await stillServes(w);
  });

  it('before the engines are attached, describe is answered at once and requests get not_ready', async () => {
    const w = await startTestWyoming();
    const client = await w.connect();
    const asked = Date.now();
    client.send('describe');
    expect((await client.next(1_000))!.type).toBe('info');
    expect(Date.now() - asked).toBeLessThan(1_000);
    client.send('audio-start', { rate: 16000, width: 2, channels: 1 });
    expect(await client.rest()).toEqual([expect.objectContaining({ type: 'error', data: expect.objectContaining({ code: 'not_ready' }) })]);
    w.server.attach(withResampler(engines()));
    await stillServes(w);
  });

  it('wyoming.allow: a client outside the ranges is disconnected at connect (logged once); inside, it is served', async () => {
    const refused = await startTestWyoming({ engines: engines(), settings: { allow: ['192.168.0.0/16', 'fd00::/8'] } });
    for (let i = 0; i < 2; i++) {
      const client = await WyomingClient.connect(refused.port);
      client.send('describe');
      expect(await client.rest()).toEqual([]);
    }
    expect(refused.log.matching('not in wyoming.allow')).toHaveLength(1);
    expect(refused.log.matching('not in wyoming.allow')[0]).toMatchObject({ client: '127.0.0.1' });

    const allowed = await startTestWyoming({ engines: engines(), settings: { allow: ['10.0.0.0/8', '127.0.0.0/8'] } });
    await stillServes(allowed);
  });
});
