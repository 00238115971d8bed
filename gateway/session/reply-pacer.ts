/**
 * Sends reply audio no more than `leadMs` ahead of real time (docs/protocol.md §2), so a device
 * needs only a small playback buffer and a barge-in has little audio to throw away.
 *
 * The pacer models the device's playback: it starts playing the first packet on arrival
 * and plays continuously; `playEnd` is when its buffer runs dry. A packet goes out once
 * it would leave at most `leadMs` of audio buffered. If the device ran dry (the next
 * sentence was still being synthesized), playback restarts with the next packet, so the
 * lead never grows past `leadMs`. After the signal aborts nothing more is sent, and a
 * pending wait ends at once: audio stops within one frame.
 */

export interface PacerClock {
  /** Monotonic milliseconds. */
  now(): number;
  /** Resolves after `ms`, or as soon as `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export const realClock: PacerClock = {
  now: () => performance.now(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
    }),
};

export interface ReplyPacer {
  /**
   * Sends one packet of `durationMs` of audio when its time comes. Resolves true once sent,
   * false when the signal aborted first (then it was not sent). Call one at a time.
   */
  send(packet: Uint8Array, durationMs: number): Promise<boolean>;
  /** Milliseconds of audio sent so far. */
  readonly sentMs: number;
}

export interface ReplyPacerOptions {
  leadMs: number;
  signal: AbortSignal;
  sendPacket: (packet: Uint8Array) => void;
  clock?: PacerClock;
}

export function createReplyPacer(options: ReplyPacerOptions): ReplyPacer {
  const { leadMs, signal, sendPacket } = options;
  const clock = options.clock ?? realClock;
  let playEnd: number | undefined;
  let sentMs = 0;
  let busy = false;

  return {
    get sentMs() {
      return sentMs;
    },
    async send(packet, durationMs) {
      if (busy) throw new Error('ReplyPacer.send called while a send is pending');
      if (signal.aborted) return false;
      busy = true;
      try {
        // A lead shorter than one packet would never let a packet go: one packet is the minimum.
        const lead = Math.max(leadMs, durationMs);
        let now = clock.now();
        if (playEnd === undefined || playEnd < now) playEnd = now;
        // A timer may fire a little early against the monotonic clock: wait until the time has really come.
        for (let wait = playEnd + durationMs - lead - now; wait > 0; wait = playEnd + durationMs - lead - now) {
          await clock.sleep(Math.ceil(wait), signal);
          if (signal.aborted) return false;
          now = clock.now();
        }
        if (playEnd < now) playEnd = now; // overslept past the device's buffer: it restarts with this packet
        sendPacket(packet);
        playEnd += durationMs;
        sentMs += durationMs;
        return true;
      } finally {
        busy = false;
      }
    },
  };
}
