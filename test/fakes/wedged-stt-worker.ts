/**
 * A stand-in for the sherpa STT worker that gets stuck the way a real one can: it starts,
 * takes streams and audio, never acknowledges any, and on `finish` blocks its thread for good
 * (as a native call that never returns would: not even `stop` gets through). It reports the
 * samples it received on the BroadcastChannel WEDGED_STT_CHANNEL.
 */
import { BroadcastChannel, parentPort } from 'node:worker_threads';
import type { SttWorkerRequest } from '../../gateway/speech/sherpa/stt-protocol.ts';

export const WEDGED_STT_CHANNEL = 'voxgate-test-wedged-stt';

// Imported by the test for the channel's name: only a worker thread runs the rest.
if (parentPort) runWorker(parentPort);

function runWorker(port: NonNullable<typeof parentPort>): void {
  const channel = new BroadcastChannel(WEDGED_STT_CHANNEL);
  let received = 0;

  port.on('message', (message: SttWorkerRequest) => {
    if (message.type === 'audio') {
      received += message.samples.length;
      channel.postMessage({ received });
    } else if (message.type === 'finish') {
      channel.postMessage({ wedged: true });
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
    } else if (message.type === 'stop') {
      channel.close();
      port.close();
    }
  });
  port.postMessage({ type: 'ready' });
}
