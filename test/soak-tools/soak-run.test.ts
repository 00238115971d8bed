/**
 * `npm run soak`, short: the real soak script (its own process, as users run it) for 18 s with
 * 4 devices over an external Mosquitto — the phase with every fault kind, the broker restart
 * included. Proves that the soak runs end to end, injects every fault, finds no device stuck,
 * and reports the gateway's figures in the shape its JSON promises.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { expect, it } from 'vitest';
import { REPO_ROOT, TTS_SAMPLES_DIR } from '../helpers/fixture-paths.ts';
import { FAULT_KINDS } from '../soak/faults.ts';
import type { SoakResult } from '../soak/report.ts';

/** The two shortest fixture utterances (3.5 and 3.7 s): more turns, and a quick drain. */
const SHORT_CLIPS = ['liliana-piper-en_US-lessac-medium.wav', 'armstrong-piper-en_US-lessac-medium.wav'].map((f) => path.join(TTS_SAMPLES_DIR, f));

function runSoak(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/soak/run.ts', ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

it('soaks the gateway for 18 s over Mosquitto: every fault injected, no device stuck, its figures reported', async () => {
  const { code, stdout, stderr } = await runSoak(['--minutes', '0.3', '--devices', '4', '--broker', 'mosquitto', '--json', ...SHORT_CLIPS.flatMap((f) => ['--audio', f])]);
  expect(stdout, stderr).toMatch(/^\{/);
  const result = JSON.parse(stdout) as SoakResult;
  expect(result.phases[0]?.stuck, stderr).toEqual([]); // on failure: each stuck device with the gateway's log about it
  expect(code, stderr).toBe(0);
  expect(result).toMatchObject({ passed: true, devices: 4, minutes: 0.3 });
  expect(result.phases).toHaveLength(1);
  const phase = result.phases[0]!;
  expect(phase).toMatchObject({ broker: 'mosquitto', devices: { websocket: 2, mqtt: 2 }, failures: [], stuck: [], problems: [] });

  for (const kind of FAULT_KINDS) expect(phase.faults[kind]?.injected, kind).toBeGreaterThanOrEqual(1);
  expect(phase.malformed.framesSent).toBeGreaterThan(0);
  expect(phase.malformed.answered).toMatchObject({ bad_message: expect.any(Number), unsupported_audio: expect.any(Number) });

  expect(phase.turns.total).toBeGreaterThan(0);
  expect(phase.turns.completed).toBeGreaterThan(0);
  expect(Object.values(phase.turns.byOutcome).reduce((a, b) => a + b, 0)).toBe(phase.turns.total);
  expect(phase.gateway.turnsByOutcome.completed).toBeGreaterThan(0);

  // The gateway's own figures, from its /metrics.
  for (const figures of [phase.memory.start, phase.memory.end, phase.noDevices.before, phase.noDevices.after]) {
    expect(figures).toMatchObject({ rssMb: expect.any(Number), heapUsedMb: expect.any(Number), handles: expect.any(Number) });
    expect(figures!.rssMb).toBeGreaterThan(figures!.heapUsedMb);
  }
  expect(phase.memory.rssSlopeMbPerMin).toEqual(expect.any(Number));
  expect(phase.memory.heapSlopeMbPerMin).toEqual(expect.any(Number));
  expect(phase.memory).toMatchObject({ heapJudged: false, rssJudged: false }); // 18 s is too short for a slope: reported, not judged
  expect(phase.memory.afterDrain).toMatchObject({ rssMb: expect.any(Number), heapUsedMb: expect.any(Number) });
  expect(phase.loopLag).toMatchObject({ p99MedianMs: expect.any(Number), p99WorstMs: expect.any(Number), maxMs: expect.any(Number) });
  expect(phase.loopLag.windows).toBeGreaterThan(0);
  expect(phase.gateway.stopKilled).toBe(false);
  expect(result.machine.loadAverageAtStart).toHaveLength(3);
}, 120_000);

it('refuses bad usage with exit code 2', async () => {
  const { code, stderr } = await runSoak(['--minutes', '0.5', '--broker', 'nowhere']);
  expect(code).toBe(2);
  expect(stderr).toContain('--broker must be both, embedded or mosquitto');
});
