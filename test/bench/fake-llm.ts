/** Starts and stops the fake LLM process (fake-llm-process.ts) for the benchmark. */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FakeChatScript } from '../fakes/fake-groq-server.ts';

const ENTRY = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fake-llm-process.ts');
/** tsx compiles the fake on start; on a loaded machine that takes a few seconds. */
const START_TIMEOUT_MS = 30_000;
/** Closing the fake's server is immediate; past this it is killed. */
const STOP_TIMEOUT_MS = 5_000;

export interface FakeLlmSettings {
  /** Time to first token: response headers → first content chunk. */
  ttftMs: number;
  /** Streamed tokens (words) per second after the first. */
  tokensPerSecond: number;
  /** The reply every request gets. */
  reply: string;
}

export interface FakeLlm {
  baseUrl: string;
  /** The next chat requests (whoever sends them) get these scripts, in order (fault injection). */
  enqueue(...scripts: FakeChatScript[]): void;
  /** Drops the enqueued scripts no request took; resolves with how many there were. */
  clear(): Promise<number>;
  stop(): Promise<void>;
}

export async function startFakeLlm(settings: FakeLlmSettings): Promise<FakeLlm> {
  const tokenMs = settings.tokensPerSecond > 0 ? 1000 / settings.tokensPerSecond : 0;
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', ENTRY, String(settings.ttftMs), String(tokenMs), settings.reply], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const baseUrl = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => fail(new Error(`the fake LLM did not start within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(error);
    };
    child.once('exit', (code) => fail(new Error(`the fake LLM exited (${code}) before listening`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        try {
          resolve((JSON.parse(line) as { baseUrl: string }).baseUrl);
        } catch (error) {
          fail(error as Error);
        }
      }
    });
  });
  // After the first line, stdout carries the answers to `clear`, one JSON line each.
  const cleared: Array<(n: number) => void> = [];
  let rest = '';
  child.stdout!.removeAllListeners('data');
  child.stdout!.on('data', (chunk: Buffer) => {
    rest += chunk.toString('utf8');
    for (let nl = rest.indexOf('\n'); nl >= 0; nl = rest.indexOf('\n')) {
      const line = rest.slice(0, nl);
      rest = rest.slice(nl + 1);
      const answer = /^\{"cleared":(\d+)\}$/.exec(line.trim());
      if (answer) cleared.shift()?.(Number(answer[1]));
    }
  });
  child.once('exit', () => cleared.splice(0).forEach((resolve) => resolve(0)));
  child.stdin!.on('error', () => {}); // a command after the fake exited is simply lost
  const command = (value: object) => child.stdin!.write(`${JSON.stringify(value)}\n`);
  return {
    baseUrl,
    enqueue(...scripts) {
      command({ enqueue: scripts });
    },
    clear() {
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(0);
      return new Promise<number>((resolve) => {
        cleared.push(resolve);
        command({ clear: true });
      });
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}
