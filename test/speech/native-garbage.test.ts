/**
 * Workers collect their own heap every so many dropped native objects (native-garbage.ts):
 * the collector must really run, without --expose-gc on the command line.
 */
import { describe, expect, it } from 'vitest';
import { collectNativeGarbageEvery } from '../../gateway/speech/workers/native-garbage.ts';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('collectNativeGarbageEvery', () => {
  it('runs a full collection at every `every`-th drop: an unreachable object is gone', async () => {
    const dropped = collectNativeGarbageEvery(3);
    let ref = new WeakRef(new Float32Array(1 << 20));
    await tick(); // a WeakRef keeps its target alive until the job that made it ends
    dropped();
    dropped();
    dropped();
    expect(ref.deref()).toBeUndefined();

    ref = new WeakRef(new Float32Array(1 << 20));
    await tick();
    for (let i = 0; i < 3; i++) dropped();
    expect(ref.deref()).toBeUndefined();
  });
});
