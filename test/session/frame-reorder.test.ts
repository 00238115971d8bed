import { describe, expect, it } from 'vitest';
import { FrameReorder } from '../../gateway/session/frame-reorder.ts';

function setup(window = 4) {
  const out: number[] = [];
  const reorder = new FrameReorder((packet) => out.push(packet[0]! | (packet[1]! << 8) | (packet[2]! << 16)), window);
  const push = (index: number) => reorder.push(index & 0xffff, Uint8Array.from([index & 0xff, (index >> 8) & 0xff, (index >> 16) & 0xff]));
  return { out, reorder, push };
}

describe('frame reorder', () => {
  it('delivers in order at once, and puts swapped frames back in order', () => {
    const { out, push } = setup();
    expect(push(0)).toBe('delivered');
    expect(push(2)).toBe('buffered');
    expect(push(1)).toBe('delivered');
    expect(push(3)).toBe('delivered');
    expect(out).toEqual([0, 1, 2, 3]);
  });

  it('drops duplicates, whether already delivered or still waiting', () => {
    const { out, reorder, push } = setup();
    push(0);
    push(2);
    expect(push(0)).toBe('duplicate');
    expect(push(2)).toBe('duplicate');
    push(1);
    expect(push(1)).toBe('duplicate');
    expect(out).toEqual([0, 1, 2]);
    expect(reorder.received).toBe(3);
  });

  it('skips a lost frame once the window is full; the lost frame arriving later is dropped as late', () => {
    const { out, reorder, push } = setup(4);
    push(0);
    for (const i of [2, 3, 4]) expect(push(i)).toBe('buffered');
    expect(out).toEqual([0]);
    push(5); // the 4th waiting frame: frame 1 is given up
    expect(out).toEqual([0, 2, 3, 4, 5]);
    expect(push(1)).toBe('late');
    expect(out).toEqual([0, 2, 3, 4, 5]);
    expect(reorder.received).toBe(6);
  });

  it('flush delivers what waits behind gaps, in order', () => {
    const { out, reorder, push } = setup(8);
    push(0);
    push(5);
    push(3);
    expect(reorder.pending).toBe(2);
    reorder.flush();
    expect(out).toEqual([0, 3, 5]);
    expect(reorder.pending).toBe(0);
  });

  it('follows the 16-bit sequence across its wrap', () => {
    const { out, push } = setup(8);
    const order: number[] = [];
    for (let i = 0; i < 70_000; i += 2) order.push(i + 1, i); // every pair swapped
    for (const i of order) push(i);
    expect(out).toHaveLength(70_000);
    expect(out.every((v, i) => v === i)).toBe(true);
  });
});
