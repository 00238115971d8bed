/**
 * Native objects that are freed only when V8 collects their JS wrapper (sherpa-onnx's
 * OnlineStream, an Opus encoder): V8 does not see their native memory, and a worker's small,
 * quiet heap is collected rarely, so the memory of finished turns piles up in RSS. A worker
 * that drops such objects counts them here, and every `every` drops it runs a full collection
 * of its own heap (a few milliseconds on its own thread, never the event loop).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Returns a function to call once per native object dropped. */
export function collectNativeGarbageEvery(every: number): () => void {
  // The collector is reachable without --expose-gc through a fresh context created after the flag is set.
  setFlagsFromString('--expose-gc');
  const collect = runInNewContext('gc') as () => void;
  let dropped = 0;
  return () => {
    if (++dropped < every) return;
    dropped = 0;
    collect();
  };
}
