/**
 * The load generator end to end against the device-simulator's fake gateway (loopback, both
 * transports): every device connects, plays its turns from the shared encoded recordings in
 * round-robin order, and the report has each turn's device-side timings and partials; idle
 * mode holds connections until the duration or the caller's signal; a refused device is
 * counted, not fatal.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { encodeMic } from '../../device-sim/audio-encoder.ts';
import { DEFAULT_LOAD_AUDIO, loadRecordings, type LoadRecording } from '../../device-sim/load-recordings.ts';
import { runSimCli } from '../../device-sim/cli-program.ts';
import { runLoad } from '../../device-sim/load.ts';
import type { SimTransport } from '../../device-sim/index.ts';
import { startFakeGateway, tokenFor, type FakeGateway } from '../device-sim/fake-gateway.ts';

function recording(name: string, seconds: number, codec: 'opus' | 'pcm16'): LoadRecording {
  const samples = new Float32Array(Math.round(seconds * 16000));
  for (let i = 0; i < samples.length; i++) samples[i] = 0.2 * Math.sin((2 * Math.PI * 300 * i) / 16000);
  return { name, file: `${name}.wav`, samples, mic: encodeMic(samples, codec, 60) };
}

const devices = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `dev-${i + 1}`, token: tokenFor(`dev-${i + 1}`) }));

let gateway: FakeGateway | undefined;
afterEach(async () => {
  await gateway?.close();
  gateway = undefined;
});

describe.each<[SimTransport, 'opus' | 'pcm16']>([
  ['websocket', 'opus'],
  ['mqtt', 'pcm16'],
])('runLoad over %s (%s)', (transport, codec) => {
  it('runs every device through its turns and reports them from the devices\' side', async () => {
    gateway = await startFakeGateway(transport, { partials: ['hel', 'hello'] });
    const recordings = [recording('one', 0.36, codec), recording('two', 0.48, codec)];
    const report = await runLoad({
      transport,
      url: gateway.url,
      codec,
      frameMs: 60,
      devices: devices(3),
      recordings,
      mode: 'talk',
      turnsPerDevice: 2,
      startSpreadMs: 100,
      pauseMs: [0, 20],
    });
    expect(report.connect).toMatchObject({ requested: 3, connected: 3, failed: 0 });
    expect(report.summary).toMatchObject({ turns: 6, completed: 6, failed: 0, partials: 12 });
    expect(report.summary.releaseToFirstAudioMs.count).toBe(6);
    expect(report.summary.releaseToFinalMs.count).toBe(6);
    for (const turn of report.turns) {
      expect(turn.ok).toBe(true);
      expect(turn.final).toBe('hello world');
      expect(turn.partials.map((p) => p.text)).toEqual(['hel', 'hello']);
      expect(turn.partials[0]!.atMs).toBeGreaterThan(0);
      expect(turn.micFrames).toBe(turn.recording === 'one' ? 6 : 8);
      expect(turn.replyPackets).toBe(8);
    }
    // Device i speaks recording i, i+1, …: the first device starts with 'one', the second with 'two'.
    const byDevice = (id: string) => report.turns.filter((t) => t.device === id).map((t) => t.recording);
    expect(byDevice('dev-1')).toEqual(['one', 'two']);
    expect(byDevice('dev-2')).toEqual(['two', 'one']);
    // The gateway saw exactly the packets of the shared encoding.
    const session = await gateway.session('dev-1');
    expect(session.micPackets.length).toBe(6 + 8);
  });
});

describe('runLoad idle mode and failures', () => {
  it('holds idle connections until the signal, then closes them', async () => {
    gateway = await startFakeGateway('mqtt');
    const stop = new AbortController();
    const running = runLoad({ transport: 'mqtt', url: gateway.url, codec: 'opus', frameMs: 60, devices: devices(4), recordings: [], mode: 'idle', durationMs: 60_000, startSpreadMs: 0, signal: stop.signal });
    const sessions = await Promise.all(devices(4).map((d) => gateway!.session(d.id)));
    stop.abort();
    const report = await running;
    expect(report).toMatchObject({ mode: 'idle', connect: { requested: 4, connected: 4, failed: 0 } });
    expect(report.summary.turns).toBe(0);
    expect(report.durationMs).toBeLessThan(60_000);
    // Each device said goodbye on the way out (no will: an orderly close).
    for (const session of sessions) expect(session.received.some((m) => m.type === 'goodbye')).toBe(true);

    // Already stopped before it starts: nothing connects, and the report says so at once.
    const none = await runLoad({ transport: 'mqtt', url: gateway.url, codec: 'opus', frameMs: 60, devices: devices(2), recordings: [], mode: 'idle', durationMs: 60_000, signal: stop.signal });
    expect(none.connect).toMatchObject({ requested: 2, connected: 0 });
  });

  it('counts a refused device and still reports the others', async () => {
    gateway = await startFakeGateway('websocket');
    const hold = new AbortController();
    const pending = runLoad({
      transport: 'websocket',
      url: gateway.url,
      codec: 'opus',
      frameMs: 60,
      devices: [...devices(2), { id: 'intruder', token: 'wrong' }],
      recordings: [],
      mode: 'idle',
      durationMs: 60_000,
      signal: hold.signal,
    });
    await Promise.all(devices(2).map((d) => gateway!.session(d.id)));
    hold.abort();
    const report = await pending;
    expect(report.connect.connected).toBe(2);
    expect(report.connect.failed).toBe(1);
    expect(report.connect.failures[0]).toMatch(/^intruder: /);
  });
});

describe('recordings with the button held after them (--hold-ms)', () => {
  it('appends that much silence to what the device sends, and nothing else', async () => {
    const plain = await loadRecordings([DEFAULT_LOAD_AUDIO], 'pcm16', 60);
    const held = await loadRecordings([DEFAULT_LOAD_AUDIO], 'pcm16', 60, { holdMs: 480 });
    expect(held.map((r) => r.name)).toEqual(plain.map((r) => r.name));
    for (const [i, recording] of held.entries()) {
      const before = plain[i]!;
      expect(recording.samples).toEqual(before.samples);
      expect(recording.mic.durationMs).toBeCloseTo(before.mic.durationMs + 480, 6);
      const extra = recording.mic.packets.length - before.mic.packets.length;
      expect(extra).toBeGreaterThanOrEqual(8); // 480 ms of 60 ms frames (the last one shares a frame with the speech)
      expect(extra).toBeLessThanOrEqual(9);
      // The recording's own frames are unchanged but the last (now padded with silence, not zeros alone).
      expect(recording.mic.packets.slice(0, before.mic.packets.length - 1)).toEqual(before.mic.packets.slice(0, -1));
      for (const packet of recording.mic.packets.slice(before.mic.packets.length)) expect(packet.every((byte) => byte === 0)).toBe(true);
    }
  });
});

describe('voxgate-sim load command line', () => {
  const run = async (args: string[]) => {
    let stdout = '';
    let stderr = '';
    const code = await runSimCli(args, { env: {}, stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
    return { code, stdout, stderr };
  };
  const url = ['--transport', 'ws', '--url', 'ws://127.0.0.1:9'];

  it.each([
    [[...url], /either with --device\/--devices-file or with --register/],
    [[...url, '--register', '--devices', '2'], /--register needs --data-dir/],
    [[...url, '--device', 'a:1', '--devices', '2'], /--devices 2 but only 1 id:token/],
    [[...url, '--device', 'a:1', '--device', 'a:2'], /listed twice/],
    [[...url, '--device', 'a:1', '--idle', '--turns', '2'], /--idle takes no --turns/],
    [[...url, '--device', 'a:1', '--audio', '/nonexistent.wav'], /--audio: .*ENOENT/],
    [['--transport', 'mqtt', '--url', 'ws://127.0.0.1:9', '--device', 'a:1'], /must start with mqtt:\/\//],
  ])('refuses %j with exit 2', async (args, message) => {
    const result = await run(['load', ...args]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });

  it('reports an unreachable gateway as a failed run (exit 1), in JSON', async () => {
    const result = await run(['load', ...url, '--device', 'a:1', '--idle', '--duration', '1', '--json']);
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as { ok: boolean; connect: { failed: number; failures: string[] } };
    expect(report.ok).toBe(false);
    expect(report.connect.failed).toBe(1);
    expect(report.connect.failures[0]).toMatch(/^a: /);
  });
});
