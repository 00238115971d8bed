import { afterEach, describe, expect, it } from 'vitest';
import { createHarness, pcmPackets, speechSamples } from './harness.ts';

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup) await c();
  cleanup = [];
});

describe('session hub', () => {
  it('lists connected devices with transport, state and since', async () => {
    const h = createHarness();
    cleanup.push(() => h.hub.closeAll());
    const before = Date.now();
    const a = h.connect('dev-a', 'websocket');
    const b = h.connect('dev-b', 'mqtt');
    expect(h.hub.connectedDevices()).toEqual([
      { deviceId: 'dev-a', transport: 'websocket', state: 'awaiting_hello', since: expect.any(Number) },
      { deviceId: 'dev-b', transport: 'mqtt', state: 'awaiting_hello', since: expect.any(Number) },
    ]);
    expect(h.hub.connectedDevices()[0]!.since).toBeGreaterThanOrEqual(before);
    await a.hello();
    await b.hello();
    a.listen('start', { turn: 1 });
    expect(h.hub.connectedDevices().map((d) => d.state)).toEqual(['listening', 'idle']);
    expect(h.seen).toEqual(['dev-a', 'dev-b']);
    await a.stream(pcmPackets(speechSamples(0.6)));
    a.listen('stop', { turn: 1 });
    await h.recorder.waitForTurns(1);
    expect(h.seen).toEqual(['dev-a', 'dev-b', 'dev-a']); // and once per turn
  });

  it('a new connection for the same device replaces the old one', async () => {
    const h = createHarness();
    cleanup.push(() => h.hub.closeAll());
    const old = h.connect('dev-1', 'websocket');
    await old.hello();
    old.listen('start', { turn: 1 });
    const fresh = h.connect('dev-1', 'mqtt');
    expect((await old.link.waitForClose()).reason).toMatch(/replaced/);
    const [record] = await h.recorder.waitForTurns(1);
    expect(record).toMatchObject({ turn: 1, outcome: 'aborted' });
    old.port.disconnected('socket closed'); // the old transport reports its close afterwards
    old.control({ type: 'ping', id: 1 }); // and a late message on the old session changes nothing
    expect(old.messages('pong')).toEqual([]);
    expect(h.hub.connectedDevices()).toEqual([{ deviceId: 'dev-1', transport: 'mqtt', state: 'awaiting_hello', since: expect.any(Number) }]);
    await fresh.hello();
    fresh.control({ type: 'ping', id: 2 });
    expect(fresh.messages('pong')).toEqual([{ type: 'pong', id: 2 }]);
  });

  it('one device’s bad input does not disturb another device', async () => {
    const h = createHarness();
    cleanup.push(() => h.hub.closeAll());
    const good = h.connect('good');
    const bad = h.connect('bad');
    await good.hello();
    await bad.hello();
    good.listen('start', { turn: 1 });
    bad.listen('start', { turn: 1 });
    const packets = pcmPackets(speechSamples(0.6));
    for (const p of packets) {
      good.audio(p);
      bad.audio(new Uint8Array(99_999));
      bad.audio(Uint8Array.from([1, 2, 3]));
      bad.control('][');
    }
    good.listen('stop', { turn: 1 });
    const [record] = await h.recorder.waitForTurns(1);
    expect(record).toMatchObject({ deviceId: 'good', outcome: 'completed' });
    expect(good.messages('error')).toEqual([]);
    expect(bad.messages('error').length).toBeGreaterThan(0);
  });

  it('closeAll closes every link and resolves once the turns are recorded', async () => {
    const h = createHarness({ responder: { sentences: ['A rather long sentence to keep the device speaking for a while.'] } });
    const a = h.connect('dev-a');
    const b = h.connect('dev-b');
    await a.hello();
    await b.hello();
    a.control({ type: 'listen', state: 'detect', text: 'talk to me' });
    await a.link.waitForAudio(1);
    await h.hub.closeAll();
    expect(a.link.closed?.reason).toBe('gateway shutting down');
    expect(b.link.closed?.reason).toBe('gateway shutting down');
    expect(h.recorder.records).toMatchObject([{ deviceId: 'dev-a', outcome: 'aborted' }]);
    expect(a.messages('tts').at(-1)).toMatchObject({ state: 'stop', reason: 'aborted' });
    expect(h.hub.connectedDevices()).toEqual([]);
  });
});
