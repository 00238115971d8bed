/**
 * The espeak-ng host: a small process of its own that runs `espeak-ng --stdout` once per
 * sentence (text on stdin) and decodes its WAV. Starting a process forks its parent, and a
 * fork copies the parent's page tables: from the gateway (hundreds of MB, more with every
 * device and model) that cost 5–45 ms of blocked thread and up to 16 ms of CPU per sentence;
 * from this host (~50 MB) about 2 ms and 1.5 ms of CPU. Arguments: the espeak-ng binary, the
 * voice-list timeout in ms, then the arguments every run starts with. The host ends with
 * its parent (IPC disconnect).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { decodeWav } from '../../audio/wav.ts';
import type { EspeakHostEvent, EspeakHostRequest } from './espeak-protocol.ts';

const [binary = 'espeak-ng', voiceListTimeout = '10000', ...baseArgs] = process.argv.slice(2);
const running = new Map<number, { child: ChildProcess; cancel: () => void }>();

function post(event: EspeakHostEvent): void {
  if (process.connected) process.send!(event);
}

function synthesize(id: number, args: string[], text: string, timeoutMs: number): void {
  const child = spawn(binary, [...baseArgs, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const chunks: Buffer[] = [];
  let stderr = '';
  let failure: Extract<EspeakHostEvent, { type: 'error' }> | undefined;
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
      post({ type: 'audio', id, samples: wav.samples, sampleRate: wav.sampleRate });
    } catch (err) {
      post({ type: 'error', id, reason: 'failed', message: `espeak-ng output unreadable: ${(err as Error).message}` });
    }
  });
  // Text on stdin: no argument parsing surprises for text that starts with "-".
  child.stdin!.on('error', () => {}); // the child may exit before reading all (killed); close reports why
  child.stdin!.end(text);
}

process.on('disconnect', () => {
  for (const job of running.values()) job.child.kill('SIGKILL');
  process.exit(0);
});

/** Lists the voices (which also proves the binary and its data work), then takes requests. */
execFile(binary, [...baseArgs, '--voices'], { timeout: Number(voiceListTimeout) }, (error, stdout, stderr) => {
  if (error) {
    post({ type: 'init-error', message: stderr.trim() || error.message });
    process.disconnect?.();
    return;
  }
  process.on('message', (request: EspeakHostRequest) => {
    if (request.type === 'synthesize') synthesize(request.id, request.args, request.text, request.timeoutMs);
    else if (request.type === 'cancel') running.get(request.id)?.cancel();
  });
  post({ type: 'ready', voiceList: stdout });
});
