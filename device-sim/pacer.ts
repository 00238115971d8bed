/**
 * Real-time pacing of microphone frames: frame i leaves when it would have been fully captured,
 * at start + (i + 1) × frame duration ÷ speed. Deadlines are absolute, so timer lateness never
 * accumulates into drift; a late timer sends the frames that are due at once, like firmware
 * draining its capture queue. One timer per pacing run, cleared on finish or abort.
 */

export interface PaceOptions {
  frameCount: number;
  frameMs: number;
  /** 1 = real time; 2 = twice as fast; Infinity = everything at once. */
  speed: number;
  /** Sends frame `index`. */
  send(index: number): void;
  /** Stops pacing early (button released by the gateway, device closed). */
  signal?: AbortSignal;
  now?: () => number;
}

/** Resolves with the number of frames sent (fewer than `frameCount` only when aborted). */
export function paceFrames(options: PaceOptions): Promise<number> {
  const { frameCount, frameMs, speed, send, signal } = options;
  if (!(speed > 0)) throw new RangeError(`speed must be > 0, got ${speed}`);
  if (!(frameMs > 0)) throw new RangeError(`frame duration must be > 0, got ${frameMs}`);
  const now = options.now ?? (() => performance.now());
  const interval = frameMs / speed;
  const start = now();
  let sent = 0;

  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', finish);
      resolve(sent);
    };
    const tick = () => {
      timer = undefined;
      try {
        while (sent < frameCount && !signal?.aborted && now() >= start + (sent + 1) * interval) {
          const index = sent;
          sent += 1; // counted first: an abort raised inside send() must still see this frame as sent
          send(index);
        }
      } catch (error) {
        finished = true;
        signal?.removeEventListener('abort', finish);
        reject(error);
        return;
      }
      if (finished) return;
      if (sent >= frameCount || signal?.aborted) return finish();
      timer = setTimeout(tick, Math.max(0, start + (sent + 1) * interval - now()));
    };
    if (signal?.aborted) return finish();
    signal?.addEventListener('abort', finish, { once: true });
    tick();
  });
}
