import { afterEach, describe, expect, it } from 'vitest';
import { announcementSentences } from '../../gateway/session/announcement.ts';
import { fakeTtsDurationMs } from '../fakes/fake-tts.ts';
import { createHarness, isType, pcmPackets, speechSamples } from './harness.ts';

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup) await c();
  cleanup = [];
});

async function readyDevice(options: Parameters<typeof createHarness>[0] = {}) {
  const h = createHarness(options);
  cleanup.push(() => h.hub.closeAll());
  const device = h.connect('wearable-1');
  await device.hello({ format: 'pcm16' }, { format: 'pcm16', sample_rate: 16000 });
  return { h, device };
}

describe('announcements (reply-only turns)', () => {
  it('speaks the text sentence by sentence: tts start, sentence_start, audio, tts stop done; nothing recorded', async () => {
    const { h, device } = await readyDevice();
    const text = 'The washing machine is done. Please hang up the laundry.';
    const result = await h.hub.announce('wearable-1', text);
    expect(result).toBe('spoken');

    const tts = device.messages('tts');
    expect(tts.map((m) => m.state)).toEqual(['start', 'sentence_start', 'sentence_start', 'stop']);
    expect(tts.filter((m) => m.state === 'sentence_start').map((m) => m.text)).toEqual([
      'The washing machine is done.',
      'Please hang up the laundry.',
    ]);
    expect(tts.at(-1)).toMatchObject({ state: 'stop', reason: 'done' });
    const turn = tts[0]!.turn!;
    // Gateway-initiated turns are numbered from the top of the uint32 range.
    expect(turn).toBeGreaterThan(0x8000_0000);
    expect(new Set(tts.map((m) => m.turn))).toEqual(new Set([turn]));
    expect(device.messages('stt')).toEqual([]);

    // Audio for both sentences, all stamped with the announcement's turn.
    const frames = device.link.audio.length;
    expect(frames * 60).toBeGreaterThanOrEqual(fakeTtsDurationMs(text) - 120);
    expect(new Set(device.link.audio.map((a) => a.turn))).toEqual(new Set([turn]));

    // Not a conversation turn: no record, no transcript/reply events; the device went speaking → idle.
    expect(h.recorder.records).toEqual([]);
    const names = h.eventLog.map((e) => e.name);
    expect(names).not.toContain('transcript');
    expect(names).not.toContain('reply');
    expect(names).not.toContain('turnRecorded');
    const states = h.eventLog.filter((e) => e.name === 'stateChanged').map((e) => (e.e as { state: string }).state);
    expect(states).toEqual(['thinking', 'speaking', 'idle']);
    expect(device.link.violations).toEqual([]);
  });

  it('is offline for an unknown device and for a session that has not said hello', async () => {
    const h = createHarness();
    cleanup.push(() => h.hub.closeAll());
    expect(await h.hub.announce('nobody', 'Hello.')).toBe('offline');
    const early = h.connect('early');
    expect(await h.hub.announce('early', 'Hello.')).toBe('offline');
    expect(early.link.sent).toEqual([]);
  });

  it('is busy while the wearer is in a turn, and never interrupts it', async () => {
    const { h, device } = await readyDevice();
    device.listen('start', { turn: 1 });
    expect(await h.hub.announce('wearable-1', 'Dinner is ready.')).toBe('busy');
    await device.stream(pcmPackets(speechSamples(0.6)));
    device.listen('stop', { turn: 1 });
    const [record] = await h.recorder.waitForTurns(1);
    expect(record!.outcome).toBe('completed');
    expect(device.messages('tts').filter((m) => m.state === 'sentence_start').map((m) => m.text)).not.toContain('Dinner is ready.');
    // Once idle again it is spoken.
    expect(await h.hub.announce('wearable-1', 'Dinner is ready.')).toBe('spoken');
  });

  it('a second announcement while one plays is busy', async () => {
    const { h } = await readyDevice();
    const first = h.hub.announce('wearable-1', 'This announcement lasts a little while to overlap.');
    expect(await h.hub.announce('wearable-1', 'Second.')).toBe('busy');
    expect(await first).toBe('spoken');
  });

  it('the wearer can cut it short: a listen start is a barge-in (interrupted, tts stop aborted)', async () => {
    const { h, device } = await readyDevice();
    const spoken = h.hub.announce('wearable-1', 'This is a long announcement that the wearer interrupts before its end.');
    await device.link.waitForAudio(2);
    device.listen('start', { turn: 7 });
    expect(await spoken).toBe('interrupted');
    const stop = device.messages('tts').find((m) => m.state === 'stop');
    expect(stop).toMatchObject({ reason: 'aborted' });
    expect(h.hub.connectedDevices()[0]!.state).toBe('listening');
  });

  it('interrupt() stops an announcement (the "stop speaking" button) and is false when nothing plays', async () => {
    const { h, device } = await readyDevice();
    expect(h.hub.interrupt('wearable-1')).toBe(false);
    const spoken = h.hub.announce('wearable-1', 'A long announcement that Home Assistant stops halfway through.');
    await device.link.waitForAudio(1);
    expect(h.hub.interrupt('wearable-1')).toBe(true);
    expect(await spoken).toBe('interrupted');
    await device.link.waitFor(isType('tts', (m) => m.state === 'stop' && m.reason === 'aborted'));
    expect(h.hub.connectedDevices()[0]!.state).toBe('idle');
    expect(h.hub.interrupt('nobody')).toBe(false);
  });

  it('fails without sending anything when nothing speakable is left, and when TTS fails it ends with tts stop error', async () => {
    const { h, device } = await readyDevice({ tts: { fail: true } });
    expect(await h.hub.announce('wearable-1', '  🎉 ✨  ')).toBe('failed');
    expect(device.messages('tts')).toEqual([]);
    expect(await h.hub.announce('wearable-1', 'The door is open.')).toBe('failed');
    expect(device.messages('tts').at(-1)).toMatchObject({ state: 'stop', reason: 'error' });
    expect(device.messages('error').map((m) => m.code)).toEqual(['tts_unavailable']);
  });
});

describe('announcementSentences', () => {
  it('cleans markup and splits sentences and lines', () => {
    expect(announcementSentences('**Door** open!\nCheck the [garage](http://x.example/g). 🚪')).toEqual([
      'Door open!',
      'Check the garage.',
    ]);
    expect(announcementSentences('   ')).toEqual([]);
  });
});
