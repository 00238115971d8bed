import { describe, expect, it } from 'vitest';
import { createReplyPacer, type PacerClock } from '../../gateway/session/reply-pacer.ts';

/** A clock whose sleeps pass instantly in virtual time. */
class VirtualClock implements PacerClock {
  t = 0;
  now() {
    return this.t;
  }
  async sleep(ms: number) {
    this.t += ms;
  }
}

/** The device's buffer (ms of audio not yet played) right after each packet arrives, playing continuously from the first. */
function bufferedAfterEach(sendTimes: number[], frameMs: number): number[] {
  let playEnd = -Infinity;
  return sendTimes.map((t) => {
    playEnd = Math.max(playEnd, t) + frameMs;
    return playEnd - t;
  });
}

describe('reply pacer', () => {
  it('sends the first lead at once, then one frame per frame period (virtual time)', async () => {
    const clock = new VirtualClock();
    const times: number[] = [];
    const pacer = createReplyPacer({ leadMs: 400, signal: new AbortController().signal, clock, sendPacket: () => times.push(clock.t) });
    for (let i = 0; i < 20; i++) expect(await pacer.send(new Uint8Array(1), 60)).toBe(true);
    expect(times.slice(0, 6)).toEqual([0, 0, 0, 0, 0, 0]); // 360 ms buffered; a 7th would make 420 > 400
    expect(times.slice(6, 9)).toEqual([20, 80, 140]);
    expect(Math.max(...bufferedAfterEach(times, 60))).toBeLessThanOrEqual(400);
    expect(pacer.sentMs).toBe(1200);
  });

  it('restarts the clock after the device ran dry, so the lead never grows past leadMs', async () => {
    const clock = new VirtualClock();
    const times: number[] = [];
    const pacer = createReplyPacer({ leadMs: 400, signal: new AbortController().signal, clock, sendPacket: () => times.push(clock.t) });
    for (let i = 0; i < 10; i++) await pacer.send(new Uint8Array(1), 60);
    clock.t += 5000; // the next sentence took long to synthesize
    for (let i = 0; i < 10; i++) await pacer.send(new Uint8Array(1), 60);
    expect(times.slice(10, 16)).toEqual(Array(6).fill(times[10]));
    expect(Math.max(...bufferedAfterEach(times, 60))).toBeLessThanOrEqual(400);
  });

  it('lets at least one packet out when the lead is shorter than a packet', async () => {
    const clock = new VirtualClock();
    const times: number[] = [];
    const pacer = createReplyPacer({ leadMs: 0, signal: new AbortController().signal, clock, sendPacket: () => times.push(clock.t) });
    for (let i = 0; i < 4; i++) await pacer.send(new Uint8Array(1), 60);
    expect(times).toEqual([0, 60, 120, 180]);
  });

  it('in real time: never more than leadMs ahead, and not faster than real time overall', async () => {
    const times: number[] = [];
    const pacer = createReplyPacer({ leadMs: 200, signal: new AbortController().signal, sendPacket: () => times.push(performance.now()) });
    for (let i = 0; i < 50; i++) await pacer.send(new Uint8Array(1), 20);
    // Timers never fire much early, so "ahead" is safe to bound tightly; a loaded machine only makes sends later.
    expect(Math.max(...bufferedAfterEach(times, 20))).toBeLessThanOrEqual(200 + 0.5); // sub-ms: stamped just after sending
    expect(times.at(-1)! - times[0]!).toBeGreaterThanOrEqual(1000 - 200 - 2);
  });

  it('after abort nothing more is sent, and a pending wait ends at once', async () => {
    const controller = new AbortController();
    const sent: number[] = [];
    const pacer = createReplyPacer({ leadMs: 0, signal: controller.signal, sendPacket: () => sent.push(performance.now()) });
    let abortedAt = 0;
    const loop = (async () => {
      for (let i = 0; i < 100; i++) {
        if (i === 3) {
          setTimeout(() => {
            abortedAt = performance.now();
            controller.abort();
          }, 10); // while the pacer waits for packet 3's time (60 ms frames)
        }
        if (!(await pacer.send(new Uint8Array(1), 60))) return i;
      }
      return 100;
    })();
    const stoppedAt = await loop;
    expect(stoppedAt).toBe(3);
    expect(sent).toHaveLength(3);
    expect(sent.every((t) => t < abortedAt)).toBe(true);
    expect(await pacer.send(new Uint8Array(1), 60)).toBe(false);
    expect(sent).toHaveLength(3);
  });
});
