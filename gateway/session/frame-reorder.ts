/**
 * Puts one turn's MQTT microphone frames back in order (docs/protocol.md §1.3). Frames are
 * numbered from 0 with a 16-bit `seq` that wraps; they are delivered in sequence as soon
 * as possible. Duplicates and frames older than what was already delivered are dropped.
 * A missing frame (QoS 0 may lose one) holds the frames behind it back only until
 * `windowFrames` frames are waiting; then the gap is skipped.
 */
import { seqDelta } from '../../protocol/index.ts';

/**
 * MQTT reorders frames against control messages, rarely against each other; 8 frames
 * (≤ 480 ms of audio) is plenty of slack without stalling recognition for long on a loss.
 */
export const DEFAULT_REORDER_WINDOW_FRAMES = 8;

export type ReorderVerdict = 'delivered' | 'buffered' | 'duplicate' | 'late';

export class FrameReorder {
  /** Absolute index (not wrapped) of the next frame to deliver. */
  private next = 0;
  private readonly waiting = new Map<number, Uint8Array>();
  private distinct = 0;

  constructor(
    private readonly deliver: (packet: Uint8Array, index: number) => void,
    private readonly windowFrames = DEFAULT_REORDER_WINDOW_FRAMES,
  ) {}

  /** Distinct frames received so far (delivered, waiting, or arrived after their gap was skipped). */
  get received(): number {
    return this.distinct;
  }

  /** Frames waiting behind a gap. */
  get pending(): number {
    return this.waiting.size;
  }

  push(seq: number, packet: Uint8Array): ReorderVerdict {
    const index = this.next + seqDelta(this.next & 0xffff, seq & 0xffff);
    if (this.recent.has(index)) return 'duplicate';
    this.remember(index);
    this.distinct++;
    if (index < this.next) return 'late'; // its gap was already skipped
    if (index === this.next) {
      this.emit(index, packet);
      this.drain();
      return 'delivered';
    }
    this.waiting.set(index, packet);
    while (this.waiting.size >= this.windowFrames) this.skipGap();
    return this.waiting.has(index) ? 'buffered' : 'delivered';
  }

  /** Delivers everything still waiting, in order, skipping the gaps (end of the turn). */
  flush(): void {
    while (this.waiting.size > 0) this.skipGap();
  }

  private emit(index: number, packet: Uint8Array): void {
    this.next = index + 1;
    this.deliver(packet, index);
  }

  private drain(): void {
    for (let packet = this.waiting.get(this.next); packet; packet = this.waiting.get(this.next)) {
      this.waiting.delete(this.next);
      this.emit(this.next, packet);
    }
  }

  /** Gives up on the missing frame(s) before the oldest waiting one. */
  private skipGap(): void {
    const oldest = Math.min(...this.waiting.keys());
    const packet = this.waiting.get(oldest)!;
    this.waiting.delete(oldest);
    this.emit(oldest, packet);
    this.drain();
  }

  /** Recently received indexes (bounded) tell a duplicate from a frame that came too late. */
  private readonly recent = new Set<number>();
  private remember(index: number): void {
    this.recent.add(index);
    if (this.recent.size > 4 * this.windowFrames + 64) {
      this.recent.delete(this.recent.values().next().value as number);
    }
  }
}
