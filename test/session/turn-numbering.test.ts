/** Turn ids of one session: the device's own numbers, the gateway's, and announcements'. */
import { describe, expect, it } from 'vitest';
import { TurnNumbering } from '../../gateway/session/turn-numbering.ts';

describe('TurnNumbering', () => {
  it('numbers unnumbered turns from 1, continuing after the last number the device chose', () => {
    const numbering = new TurnNumbering();
    expect(numbering.next(undefined)).toBe(1);
    expect(numbering.next(undefined)).toBe(2);
    expect(numbering.next(40)).toBe(40);
    expect(numbering.next(undefined)).toBe(41);
  });

  it('wraps past the largest uint32 back to 1', () => {
    const numbering = new TurnNumbering();
    expect(numbering.next(0xffff_ffff)).toBe(0xffff_ffff);
    expect(numbering.next(undefined)).toBe(1);
  });

  it("recognises a repeated device number among the last 16, and only the device's", () => {
    const numbering = new TurnNumbering();
    numbering.next(undefined); // gateway-numbered 1: not the device's
    expect(numbering.isRepeat(1)).toBe(false);
    for (let id = 100; id < 117; id++) numbering.next(id);
    expect(numbering.isRepeat(116)).toBe(true);
    expect(numbering.isRepeat(101)).toBe(true);
    expect(numbering.isRepeat(100)).toBe(false); // the 17th most recent is forgotten
  });

  it('counts announcements down from the top of uint32, apart from the turn numbering', () => {
    const numbering = new TurnNumbering();
    expect(numbering.nextAnnouncement()).toBe(0xffff_ffff);
    expect(numbering.nextAnnouncement()).toBe(0xffff_fffe);
    expect(numbering.next(undefined)).toBe(1);
    expect(numbering.nextAnnouncement()).toBe(0xffff_fffd);
  });
});
