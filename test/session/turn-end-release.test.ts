/**
 * Silero instances of `auto` turns (issue 11 item 6): every turn end gives its detector's
 * instance back at once, however the turn ended (stop, abort, restart, barge-in, disconnect),
 * so one pooled instance serves turn after turn; instances a burst needed are dropped once
 * idle. Real Silero (the fixture model); the recognizer is FakeStt, which cannot end turns
 * itself, so the session asks the factory for a detector.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SileroTurnEndDetectorFactory } from '../../gateway/speech/vad/turn-end.ts';
import { SILERO_SETTINGS } from '../speech/helpers/providers.ts';
import { createHarness, pcmPackets, speechSamples } from './harness.ts';

const factories: SileroTurnEndDetectorFactory[] = [];
afterEach(() => {
  for (const f of factories.splice(0)) f.close();
});

function factory(options: ConstructorParameters<typeof SileroTurnEndDetectorFactory>[1]): SileroTurnEndDetectorFactory {
  const f = new SileroTurnEndDetectorFactory(SILERO_SETTINGS, options);
  factories.push(f);
  return f;
}

describe('turn-end detectors', () => {
  it('go back to the pool at every turn end: stop, abort, restart, barge-in, disconnect', async () => {
    const silero = factory({ minIdle: 1 });
    const h = createHarness({ turnEnd: silero, responder: { sentences: ['A reply long enough to still be playing.'] }, tts: { msPerChar: 40 } });
    const device = h.connect();
    await device.hello();
    const speak = () => device.stream(pcmPackets(speechSamples(1))); // speech without trailing silence: the VAD does not end it

    // listen stop
    device.listen('start', { mode: 'auto', turn: 1 });
    await speak();
    expect(silero.inUse).toBe(1);
    device.listen('stop', { turn: 1 });
    await h.recorder.waitForTurns(1);
    expect(silero.inUse).toBe(0);

    // abort while listening
    device.listen('start', { mode: 'auto', turn: 2 });
    await speak();
    device.control({ session_id: device.sessionId, type: 'abort' });
    await h.recorder.waitForTurns(2);
    expect(silero.inUse).toBe(0);

    // a new listen start while listening (restart), then a barge-in while the reply plays
    device.listen('start', { mode: 'auto', turn: 3 });
    await speak();
    device.listen('start', { mode: 'auto', turn: 4 });
    await h.recorder.waitForTurns(3);
    expect(silero.inUse).toBe(1); // turn 4's
    await speak();
    device.listen('stop', { turn: 4 });
    await device.link.waitFor((m) => m.type === 'tts' && m.state === 'start' && m.turn === 4);
    device.listen('start', { mode: 'auto', turn: 5 });
    await h.recorder.waitForTurns(4);
    expect(silero.inUse).toBe(1); // turn 5's

    // disconnect while listening
    await speak();
    device.port.disconnected('gone');
    await h.recorder.waitForTurns(5);
    expect(silero.inUse).toBe(0);

    expect(h.recorder.records.map((r) => r.outcome)).toEqual(['completed', 'aborted', 'aborted', 'aborted', 'aborted']);
    // One Silero instance served all five turns: none waited for the garbage collector.
    expect(silero.created).toBe(1);
    expect(silero.idleCount).toBe(1);
  });

  it('shrink back to the minimum once idle for idleMs', () => {
    let now = 0;
    const silero = factory({ minIdle: 1, idleMs: 60_000, now: () => now });
    const burst = Array.from({ length: 4 }, () => silero.create());
    expect(silero.created).toBe(4);
    for (const detector of burst) detector.release?.();
    expect(silero.idleCount).toBe(4);
    now = 30_000;
    silero.trim();
    expect(silero.idleCount).toBe(4);
    now = 61_000;
    silero.trim();
    expect(silero.idleCount).toBe(1);
    // The one kept still serves, reset.
    const next = silero.create();
    expect(silero.created).toBe(4);
    expect(next.accept(new Float32Array(16000))).toBe(false);
  });
});
