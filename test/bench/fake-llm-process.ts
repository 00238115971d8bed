/**
 * The benchmark's LLM: the loopback fake Groq server (test/fakes) in its own process, so
 * that its work is not counted as the gateway's CPU. Every chat request is answered with the
 * same reply, streamed one word per token: the first after `ttftMs`, then one every
 * `tokenMs`. The gateway drives it with the real groq-sdk, so the client's own overhead is in
 * the figures. Started by fake-llm.ts; prints `{"baseUrl":…}` on stdout when listening and
 * exits when its parent goes away or on SIGTERM.
 *
 * Its stdin also takes commands, one JSON object a line (the soak injects LLM faults so):
 *   {"enqueue": [FakeChatScript, …]}  the next requests get these scripts, in order;
 *   {"clear": true}                   drops the scripts no request took and answers {"cleared": N}.
 */
import { createInterface } from 'node:readline';
import { startFakeGroqServer, type FakeChatScript } from '../fakes/fake-groq-server.ts';

const [ttftMs, tokenMs, reply] = [Number(process.argv[2]), Number(process.argv[3]), process.argv[4] ?? ''];
if (!Number.isFinite(ttftMs) || !Number.isFinite(tokenMs) || reply === '') {
  process.stderr.write('usage: fake-llm-process.ts TTFT_MS TOKEN_MS REPLY\n');
  process.exit(2);
}

const fake = await startFakeGroqServer();
fake.chat.setDefault({ type: 'text', text: reply, firstTokenDelayMs: ttftMs, tokenDelayMs: tokenMs });
// The fake records every request; a benchmark makes thousands, so keep only the count.
const keepNoRequests = setInterval(() => fake.chat.requests.splice(0), 5_000);
process.stdout.write(`${JSON.stringify({ baseUrl: fake.baseUrl })}\n`);

let closing = false;
const shutdown = () => {
  if (closing) return;
  closing = true;
  clearInterval(keepNoRequests);
  void fake.close().finally(() => process.exit(0));
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
const commands = createInterface({ input: process.stdin });
commands.on('line', (line) => {
  let command: { enqueue?: FakeChatScript[]; clear?: boolean };
  try {
    command = JSON.parse(line) as typeof command;
  } catch {
    process.stderr.write(`fake LLM: not a JSON command: ${line.slice(0, 200)}\n`);
    return;
  }
  if (command.enqueue) fake.chat.enqueue(...command.enqueue);
  if (command.clear) process.stdout.write(`${JSON.stringify({ cleared: fake.chat.clear() })}\n`);
});
// The parent holds our stdin open: when it ends (parent exited or crashed), so do we.
commands.on('close', shutdown);
process.stdin.on('error', shutdown);
