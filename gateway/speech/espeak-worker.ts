/**
 * The espeak-ng worker: runs `espeak-ng --stdout` once per sentence (text on stdin) and
 * decodes its WAV, off the event loop. Forking a child copies the parent's page tables: from
 * the gateway's main thread that blocked the event loop for milliseconds per sentence (more
 * as the gateway grows); from here it blocks only this thread. The provider caps how many
 * run at once; this worker runs what it is given.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { parentPort, workerData } from 'node:worker_threads';
import { decodeWav } from '../../audio/wav.ts';
import type { EspeakWorkerData, EspeakWorkerEvent, EspeakWorkerRequest } from './espeak-protocol.ts';

const port = parentPort!;
const data = workerData as EspeakWorkerData;
const running = new Map<number, { child: ChildProcess; cancel: () => void }>();

function post(event: EspeakWorkerEvent, transfer?: ArrayBuffer[]): void {
  port.postMessage(event, transfer);
}

function synthesize(id: number, args: string[], text: string, timeoutMs: number): void {
  const child = spawn(data.binary, [...data.baseArgs, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const chunks: Buffer[] = [];
  let stderr = '';
  let failure: Extract<EspeakWorkerEvent, { type: 'error' }> | undefined;
  const stop = (reason: 'unavailable' | 'timeout' | 'aborted', message: string) => {
    failure ??= { type: 'error', id, reason, message };
    child.kill('SIGKILL');
  };
  const timer = setTimeout(() => stop('timeout', `espeak-ng took longer than ${timeoutMs} ms`), timeoutMs);
  running.set(id, { child, cancel: () => stop('aborted', 'synthesis aborted') });
  child.stdout!.on('data', (chunk: Buffer) => chunks.push(chunk));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.on('error', (err) => stop('unavailable', `espeak-ng could not run: ${err.message}`));
  child.on('close', (code) => {
    clearTimeout(timer);
    running.delete(id);
    if (failure) return post(failure);
    if (code !== 0) return post({ type: 'error', id, reason: 'failed', message: `espeak-ng failed (exit ${code}): ${stderr.trim()}` });
    try {
      const wav = decodeWav(Buffer.concat(chunks));
      post({ type: 'audio', id, samples: wav.samples, sampleRate: wav.sampleRate }, [wav.samples.buffer as ArrayBuffer]);
    } catch (err) {
      post({ type: 'error', id, reason: 'failed', message: `espeak-ng output unreadable: ${(err as Error).message}` });
    }
  });
  // Text on stdin: no argument parsing surprises for text that starts with "-".
  child.stdin!.on('error', () => {}); // the child may exit before reading all (killed); close reports why
  child.stdin!.end(text);
}

/** Lists the voices (which also proves the binary and its data work), then takes requests. */
execFile(data.binary, [...data.baseArgs, '--voices'], { timeout: data.voiceListTimeoutMs }, (error, stdout, stderr) => {
  if (error) {
    port.postMessage({ type: 'init-error', message: stderr.trim() || error.message });
    port.close();
    return;
  }
  port.on('message', (request: EspeakWorkerRequest) => {
    if (request.type === 'synthesize') synthesize(request.id, request.args, request.text, request.timeoutMs);
    else if (request.type === 'cancel') running.get(request.id)?.cancel();
    else {
      // Asked by the provider (never Worker.terminate(), see speech-worker.ts): closing the port ends the thread.
      for (const job of running.values()) job.child.kill('SIGKILL');
      port.close();
    }
  });
  port.postMessage({ type: 'ready', voiceList: stdout });
});
