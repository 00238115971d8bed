import { describe, expect, it } from 'vitest';
import { AnnouncementQueue } from '../../gateway/bridge/announcements.ts';
import type { AnnounceResult } from '../../gateway/session/session-hub.ts';
import { createCaptureLogger } from '../fakes/capture-logger.ts';

/** A session hub stand-in whose answers the test decides, one call at a time. */
function target() {
  const calls: Array<{ deviceId: string; text: string; answer(result: AnnounceResult): void }> = [];
  const waiters: Array<() => void> = [];
  let interrupts = 0;
  return {
    calls,
    get interrupts() {
      return interrupts;
    },
    announce(deviceId: string, text: string) {
      return new Promise<AnnounceResult>((resolve) => {
        calls.push({ deviceId, text, answer: resolve });
        for (const w of waiters.splice(0)) w();
      });
    },
    interrupt() {
      interrupts++;
      return true;
    },
    async nextCall(count: number) {
      while (calls.length < count) await new Promise<void>((resolve) => waiters.push(resolve));
      return calls[count - 1]!;
    },
  };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

function queue(options: { muted?: Set<string>; now?: () => number; maxQueued?: number } = {}) {
  const sessions = target();
  const q = new AnnouncementQueue({
    sessions,
    expiryMs: 1_000,
    maxQueued: options.maxQueued ?? 10,
    isMuted: (id) => options.muted?.has(id) ?? false,
    logger: createCaptureLogger().logger,
    now: options.now,
  });
  return { sessions, q };
}

describe('announcement queue', () => {
  it('speaks at once, one after another', async () => {
    const { sessions, q } = queue();
    q.say('a', 'first');
    q.say('a', 'second');
    const first = await sessions.nextCall(1);
    expect(first.text).toBe('first');
    expect(sessions.calls).toHaveLength(1); // never two at once for one wearable
    first.answer('spoken');
    (await sessions.nextCall(2)).answer('spoken');
    expect(sessions.calls.map((c) => c.text)).toEqual(['first', 'second']);
    await settle();
    expect(q.waiting('a')).toBe(0);
  });

  it('keeps a message while the wearable is offline or busy, and says it when it is ready', async () => {
    const { sessions, q } = queue();
    q.say('a', 'hello');
    (await sessions.nextCall(1)).answer('offline');
    await settle();
    expect(q.waiting('a')).toBe(1);
    q.ready('a');
    (await sessions.nextCall(2)).answer('busy');
    await settle();
    expect(q.waiting('a')).toBe(1);
    q.ready('a');
    (await sessions.nextCall(3)).answer('spoken');
    await settle();
    expect(q.waiting('a')).toBe(0);
    expect(sessions.calls.map((c) => c.text)).toEqual(['hello', 'hello', 'hello']);
  });

  it('drops messages that expired before the wearable came back', async () => {
    let now = 0;
    const { sessions, q } = queue({ now: () => now });
    q.say('a', 'old news');
    (await sessions.nextCall(1)).answer('offline');
    await settle();
    now = 500;
    q.say('a', 'fresh news'); // tries again at once: still offline
    const retry = await sessions.nextCall(2);
    expect(retry.text).toBe('old news');
    retry.answer('offline');
    await settle();
    now = 1_200; // "old news" expired at 1000, "fresh news" lives until 1500
    q.ready('a');
    const call = await sessions.nextCall(3);
    expect(call.text).toBe('fresh news');
  });

  it('keeps only the newest few, drops messages for a muted wearable, and stop() forgets and interrupts', async () => {
    const muted = new Set(['m']);
    const { sessions, q } = queue({ muted, maxQueued: 2 });
    q.say('m', 'not for you');
    await settle();
    expect(sessions.calls).toEqual([]);

    q.say('a', 'one');
    (await sessions.nextCall(1)).answer('offline');
    q.say('a', 'two');
    q.say('a', 'three');
    await settle();
    expect(q.waiting('a')).toBe(2);
    expect(q.stop('a')).toBe(true);
    expect(sessions.interrupts).toBe(1);
    expect(q.waiting('a')).toBe(0);
  });
});
