/** `voxgate start` shutdown: SIGINT/SIGTERM stop the gateway, then exit. */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { stopOnSignals } from '../../gateway/cli/start.ts';

function deferred() {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

function harness() {
  const source = new EventEmitter();
  const exits: number[] = [];
  let stopCalls = 0;
  const stopping = deferred();
  const exited = new Promise<number>((resolve) => {
    stopOnSignals(
      () => {
        stopCalls++;
        return stopping.promise;
      },
      {
        source,
        exit: (code) => {
          exits.push(code);
          resolve(code);
        },
      },
    );
  });
  return { source, exits, exited, stopping, stopCalls: () => stopCalls };
}

describe('stopOnSignals', () => {
  it.each(['SIGINT', 'SIGTERM'])('%s stops the gateway and then exits 0', async (signal) => {
    const h = harness();
    h.source.emit(signal, signal);
    expect(h.stopCalls()).toBe(1);
    expect(h.exits).toEqual([]); // not before stop() has finished
    h.stopping.resolve();
    expect(await h.exited).toBe(0);
  });

  it('exits 1 when stopping fails', async () => {
    const h = harness();
    h.source.emit('SIGTERM', 'SIGTERM');
    h.stopping.reject(new Error('broker would not close'));
    expect(await h.exited).toBe(1);
  });

  it('a second signal while stopping exits 1 at once and does not stop twice', async () => {
    const h = harness();
    h.source.emit('SIGINT', 'SIGINT');
    h.source.emit('SIGINT', 'SIGINT');
    expect(await h.exited).toBe(1);
    expect(h.stopCalls()).toBe(1);
  });

  it('exits 1 at the deadline when stopping never finishes (a hung broker or log reader)', async () => {
    const source = new EventEmitter();
    const exited = new Promise<number>((resolve) => {
      stopOnSignals(() => new Promise<void>(() => {}), { source, exit: resolve, deadlineMs: 50 });
    });
    const since = Date.now();
    source.emit('SIGTERM', 'SIGTERM');
    expect(await exited).toBe(1);
    expect(Date.now() - since).toBeGreaterThanOrEqual(45);
  });
});
