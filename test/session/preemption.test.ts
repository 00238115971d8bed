/**
 * Preemptive generation through the session (fake recognizer, responder and TTS; the real
 * Silero VAD for auto mode): a speculation starts on a stable partial while the speaker is
 * silent, is committed when the final matches (one LLM call, its first sentence's audio
 * already made) and is discarded otherwise, unheard, unrecorded; abort, barge-in and LLM
 * failures during a speculation; auto mode; the switch and the pause signal's source.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SpeculationDiscardReason } from '../../gateway/session/events.ts';
import { normalizeTranscript } from '../../gateway/session/preemption.ts';
import { SileroTurnEndDetectorFactory } from '../../gateway/speech/vad/turn-end.ts';
import { sine } from '../audio/signal.ts';
import { SILERO_VAD_MODEL } from '../helpers/fixture-paths.ts';
import { createHarness, isType, pcmPackets, silenceSamples, speechSamples, type Device } from './harness.ts';

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup) await c();
  cleanup = [];
});

/** Short, so the tests do not wait long; the default is chosen by measurement (docs/latency.md). */
const PREEMPT = { enabled: true, stableMs: 60 };
const echo = (text: string) => [`You said ${text}.`, 'Anything else?'];

function harness(options: Parameters<typeof createHarness>[0] = {}) {
  const h = createHarness({ preemption: PREEMPT, ...options, responder: { sentences: echo, ...options.responder } });
  cleanup.push(() => h.hub.closeAll());
  return h;
}

/** A loud tone: every 200 ms block of it is a word to the fake recognizer. */
function voiced(seconds: number): Int16Array {
  return Int16Array.from(sine(220, 16000, seconds, 0.3), (v) => Math.round(v * 32767));
}

async function until(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

type SpeculationLog = Array<{ event: string; reason?: SpeculationDiscardReason }>;
function speculations(h: ReturnType<typeof createHarness>): SpeculationLog {
  return h.eventLog
    .filter((e) => e.name === 'speculation')
    .map(({ e }) => {
      const { event, reason } = e as { event: string; reason?: SpeculationDiscardReason };
      return reason ? { event, reason } : { event };
    });
}

/** Speaks `words` words (200 ms each), then stays silent for `silence` s with the button held. */
async function speakThenPause(device: Device, words: number, silence = 0.3): Promise<void> {
  await device.stream(pcmPackets(voiced(words * 0.2)));
  await device.stream(pcmPackets(silenceSamples(silence)));
}

const spokenSentences = (device: Device) => device.messages('tts').flatMap((m) => (m.state === 'sentence_start' ? [m.text] : []));

describe('normalizeTranscript', () => {
  it('ignores case, punctuation and spacing, nothing else', () => {
    expect(normalizeTranscript('  Turn ON the  kitchen-light, please! ')).toBe('turn on the kitchenlight please');
    expect(normalizeTranscript('turn on the kitchen light please')).not.toBe(normalizeTranscript('turn on the kitchen lights please'));
    expect(normalizeTranscript('¿Qué hora es?')).toBe('qué hora es');
  });
});

describe('preemptive generation, push-to-talk', () => {
  it('commits the speculation when the final equals the partial: one LLM call, first audio made before release', async () => {
    const h = harness();
    const device = h.connect();
    await device.hello();
    device.listen('start', { mode: 'manual', turn: 1 });
    await speakThenPause(device, 3);
    await until(() => h.tts.requests.length === 1, 'the speculative first sentence synthesized');

    // While the button is held nothing of the reply reaches the device.
    expect(h.responder.requests.map((r) => r.text)).toEqual(['turn on the']);
    expect(h.tts.requests.map((r) => r.text)).toEqual(['You said turn on the.']);
    expect(device.messages('tts')).toEqual([]);
    expect(device.link.audio).toHaveLength(0);
    expect(h.recorder.records).toHaveLength(0);
    expect(speculations(h)).toEqual([{ event: 'started' }]);

    device.listen('stop', { turn: 1 });
    await device.link.waitFor(isType('tts', (m) => m.state === 'stop'));
    const [record] = await h.recorder.waitForTurns(1);

    expect(h.responder.requests).toHaveLength(1); // the reply in flight was the reply
    expect(h.responder.requests[0]!.signal.aborted).toBe(true); // released once the turn ended
    expect(h.tts.requests.map((r) => r.text)).toEqual(['You said turn on the.', 'Anything else?']); // first sentence synthesized once
    expect(spokenSentences(device)).toEqual(echo('turn on the'));
    expect(device.messages('tts').at(-1)).toMatchObject({ state: 'stop', reason: 'done' });
    expect(record).toMatchObject({ outcome: 'completed', transcript: 'turn on the', reply: 'You said turn on the. Anything else?' });
    expect(record!.timings.preempted).toBe(true);
    expect(record!.timings.speculationLeadMs).toBeGreaterThan(0);
    // Its first token and sentence came before the final transcript.
    expect(record!.timings.finalToFirstTokenMs).toBeLessThan(0);
    expect(speculations(h)).toEqual([{ event: 'started' }, { event: 'committed' }]);
    expect(device.link.violations).toEqual([]);
  });

  it('discards the speculation when the final differs: never heard, recorded or part of the reply', async () => {
    // The fake reveals the transcript word by word, and all of it at the final.
    const h = harness({ stt: { transcript: 'turn on the kitchen light please' } });
    const device = h.connect();
    await device.hello();
    device.listen('start', { mode: 'manual', turn: 1 });
    await speakThenPause(device, 3);
    await until(() => h.tts.requests.length === 1, 'the speculative first sentence synthesized');
    device.listen('stop', { turn: 1 });
    await device.link.waitFor(isType('tts', (m) => m.state === 'stop'));
    const [record] = await h.recorder.waitForTurns(1);

    expect(h.responder.requests.map((r) => r.text)).toEqual(['turn on the', 'turn on the kitchen light please']);
    expect(h.responder.requests[0]!.signal.aborted).toBe(true);
    expect(h.tts.requests[0]).toMatchObject({ text: 'You said turn on the.' });
    expect(h.tts.requests[0]!.signal.aborted).toBe(true);
    expect(spokenSentences(device)).toEqual(echo('turn on the kitchen light please'));
    expect(record).toMatchObject({ outcome: 'completed', transcript: 'turn on the kitchen light please', reply: 'You said turn on the kitchen light please. Anything else?' });
    expect(record!.timings.preempted).toBe(false);
    expect(record!.timings.speculationLeadMs).toBeUndefined();
    expect(h.eventLog.filter((e) => e.name === 'reply').map((e) => (e.e as { text: string }).text)).toEqual([record!.reply]);
    expect(speculations(h)).toEqual([{ event: 'started' }, { event: 'discarded', reason: 'changed' }]);
  });

  it('a partial that moves on discards the speculation at once; the next pause may start another', async () => {
    const h = harness({ responder: { firstTokenDelayMs: 300 } });
    const device = h.connect();
    await device.hello();
    device.listen('start', { mode: 'manual', turn: 1 });
    await speakThenPause(device, 2);
    await until(() => h.responder.requests.length === 1, 'a speculation');
    await device.stream(pcmPackets(voiced(0.4))); // the user goes on: "turn on the kitchen"
    expect(h.responder.requests[0]!.signal.aborted).toBe(true);
    expect(speculations(h)).toEqual([{ event: 'started' }, { event: 'discarded', reason: 'changed' }]);

    await device.stream(pcmPackets(silenceSamples(0.3)));
    await until(() => h.responder.requests.length === 2, 'a second speculation');
    device.listen('stop', { turn: 1 });
    const [record] = await h.recorder.waitForTurns(1);
    expect(record!.transcript).toMatch(/^turn on the kitchen/);
    expect(h.responder.requests.map((r) => r.text)).toEqual(['turn on', record!.transcript]);
    expect(record).toMatchObject({ outcome: 'completed', reply: `You said ${record!.transcript}. Anything else?` });
    expect(speculations(h)).toEqual([{ event: 'started' }, { event: 'discarded', reason: 'changed' }, { event: 'started' }, { event: 'committed' }]);
  });

  it('starts nothing while the speaker is not silent, nor after release, nor when switched off', async () => {
    // A stable partial during a held tone (no pause): no speculation.
    const h = harness();
    const device = h.connect();
    await device.hello();
    device.listen('start', { mode: 'manual', turn: 1 });
    await device.stream(pcmPackets(voiced(0.4)));
    await device.stream(pcmPackets(voiced(0.1))); // 100 ms more: no new word yet, no silence
    await new Promise((resolve) => setTimeout(resolve, 4 * PREEMPT.stableMs));
    expect(h.responder.requests).toHaveLength(0);
    device.listen('stop', { turn: 1 });
    const [record] = await h.recorder.waitForTurns(1);
    expect(h.responder.requests.map((r) => r.text)).toEqual([record!.transcript]);
    expect(record!.timings.preempted).toBeUndefined();

    const off = harness({ preemption: { enabled: false, stableMs: PREEMPT.stableMs } });
    const other = off.connect();
    await other.hello();
    other.listen('start', { mode: 'manual', turn: 1 });
    await speakThenPause(other, 3);
    await new Promise((resolve) => setTimeout(resolve, 4 * PREEMPT.stableMs));
    expect(off.responder.requests).toHaveLength(0);
    other.listen('stop', { turn: 1 });
    await off.recorder.waitForTurns(1);
    expect(off.responder.requests).toHaveLength(1);
    expect(speculations(off)).toEqual([]);
  });

  it('an empty final discards the speculation and the turn ends empty', async () => {
    const h = harness();
    h.stt.options.transcript = 'turn on the';
    const device = h.connect();
    await device.hello();
    device.listen('start', { mode: 'manual', turn: 1 });
    await speakThenPause(device, 3);
    await until(() => h.responder.requests.length === 1, 'a speculation');
    // The recognizer changes its mind at the end (a real model may drop a mumble).
    h.stt.options.transcript = '';
    device.listen('stop', { turn: 1 });
    const [record] = await h.recorder.waitForTurns(1);
    expect(record).toMatchObject({ outcome: 'empty', transcript: '', reply: '' });
    expect(device.messages('tts')).toEqual([]);
    expect(speculations(h)).toEqual([{ event: 'started' }, { event: 'discarded', reason: 'empty' }]);
  });
});

describe('a speculation cut short', () => {
  it('abort during a speculation: discarded, its LLM call and synthesis stopped, nothing sent', async () => {
    const h = harness({ responder: { sentenceDelayMs: 2_000 } });
    const device = h.connect();
    await device.hello();
    device.listen('start', { mode: 'manual', turn: 1 });
    await speakThenPause(device, 3);
    await until(() => h.responder.requests.length === 1, 'a speculation');
    const sentBefore = device.link.sent.length;
    device.control({ type: 'abort', session_id: device.sessionId, reason: 'button' });
    const [record] = await h.recorder.waitForTurns(1);
    expect(record).toMatchObject({ outcome: 'aborted', reply: '' });
    expect(h.responder.requests[0]!.signal.aborted).toBe(true);
    expect(speculations(h)).toEqual([{ event: 'started' }, { event: 'discarded', reason: 'aborted' }]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(device.link.sent.slice(sentBefore).map((s) => s.message.type)).not.toContain('tts');
    expect(device.link.audio).toHaveLength(0);
    expect(h.responder.yielded[0]).toEqual([]);
  });

  it('barge-in (a new listen start) while listening discards it; the new turn is unaffected', async () => {
    const h = harness();
    const device = h.connect();
    await device.hello();
    device.listen('start', { mode: 'manual', turn: 1 });
    await speakThenPause(device, 3);
    await until(() => h.tts.requests.length === 1, 'a speculation with its first audio');
    device.listen('start', { mode: 'manual', turn: 2 });
    await device.stream(pcmPackets(voiced(0.2)));
    device.listen('stop', { turn: 2 });
    const records = await h.recorder.waitForTurns(2);
    expect(records.map((r) => [r.turn, r.outcome, r.reply])).toEqual([
      [1, 'aborted', ''],
      [2, 'completed', 'You said turn. Anything else?'],
    ]);
    expect(h.tts.requests[0]!.signal.aborted).toBe(true);
    expect(spokenSentences(device)).toEqual(echo('turn'));
    expect(device.messages('tts').every((m) => m.turn === 2)).toBe(true);
    expect(device.link.audio.every((a) => a.turn === 2)).toBe(true);
    expect(speculations(h)).toEqual([{ event: 'started' }, { event: 'discarded', reason: 'aborted' }]);
  });

  it('barge-in while a committed reply is being spoken stops the speculation’s still-running answer', async () => {
    const h = harness({ responder: { sentences: ['One.', 'Two.', 'Three.', 'Four.'], sentenceDelayMs: 150 } });
    const device = h.connect();
    await device.hello();
    device.listen('start', { mode: 'manual', turn: 1 });
    await speakThenPause(device, 2);
    await until(() => h.responder.requests.length === 1, 'a speculation');
    device.listen('stop', { turn: 1 });
    await device.link.waitFor(isType('tts', (m) => m.state === 'sentence_start'));
    device.listen('start', { mode: 'manual', turn: 2 });
    const [first] = await h.recorder.waitForTurns(1);
    expect(first).toMatchObject({ turn: 1, outcome: 'aborted' });
    expect(first!.timings.preempted).toBe(true);
    expect(h.responder.requests[0]!.signal.aborted).toBe(true);
    expect(h.responder.yielded[0]!.length).toBeLessThan(4);
    expect(device.messages('tts').filter((m) => m.turn === 1).at(-1)).toMatchObject({ state: 'stop', reason: 'aborted' });
  });
});

describe('the language model fails during a speculation', () => {
  it('before its first sentence: discarded at once; the final asks again and gets a complete reply', async () => {
    const h = harness({ responder: { failAfter: 0 } });
    const device = h.connect();
    await device.hello();
    device.listen('start', { mode: 'manual', turn: 1 });
    await speakThenPause(device, 3);
    await until(() => speculations(h).length === 2, 'the failed speculation discarded');
    expect(speculations(h)).toEqual([{ event: 'started' }, { event: 'discarded', reason: 'failed' }]);
    h.responder.options.failAfter = undefined; // the model is back
    await device.stream(pcmPackets(silenceSamples(0.3)));
    await new Promise((resolve) => setTimeout(resolve, 3 * PREEMPT.stableMs));
    expect(h.responder.requests).toHaveLength(1); // no second speculation in this turn
    device.listen('stop', { turn: 1 });
    const [record] = await h.recorder.waitForTurns(1);
    expect(h.responder.requests.map((r) => r.text)).toEqual(['turn on the', 'turn on the']);
    expect(record).toMatchObject({ outcome: 'completed', reply: 'You said turn on the. Anything else?' });
    expect(record!.timings.preempted).toBe(false);
    expect(device.messages('error')).toEqual([]);
  });

  it('mid-answer after the commit: the sentences so far, then llm_unavailable and the apology', async () => {
    const h = harness({ responder: { failAfter: 1 } });
    const device = h.connect();
    await device.hello();
    device.listen('start', { mode: 'manual', turn: 1 });
    await speakThenPause(device, 3);
    await until(() => h.responder.requests.length === 1, 'a speculation');
    device.listen('stop', { turn: 1 });
    await device.link.waitFor(isType('tts', (m) => m.state === 'stop'));
    const [record] = await h.recorder.waitForTurns(1);
    expect(spokenSentences(device)).toEqual(['You said turn on the.', "Sorry, I can't answer right now."]);
    expect(device.messages('error')).toMatchObject([{ code: 'llm_unavailable' }]);
    expect(device.messages('tts').at(-1)).toMatchObject({ state: 'stop', reason: 'error' });
    expect(record).toMatchObject({ outcome: 'error', errorCode: 'llm_unavailable', reply: 'You said turn on the.' });
    expect(record!.timings.preempted).toBe(true);
    expect(h.responder.requests).toHaveLength(1);
  });
});

describe('preemptive generation in auto mode', () => {
  it('the reply starts during the VAD’s silence wait (real Silero) and is committed at its end', async () => {
    const factory = new SileroTurnEndDetectorFactory({ model: SILERO_VAD_MODEL, threshold: 0.5, silenceMs: 700, minSpeechMs: 250 });
    const h = harness({ turnEnd: factory });
    const device = h.connect();
    await device.hello();
    device.listen('start', { mode: 'auto', turn: 1 });
    // Real speech, then the microphone keeps sending silence in real time until the VAD ends the turn.
    await device.stream(pcmPackets(speechSamples(1.5, 2.5)));
    const silence = pcmPackets(silenceSamples(3));
    for (const packet of silence) {
      if (h.recorder.records.length > 0 || device.messages('stt').some((m) => m.final)) break;
      device.audio(packet);
      await new Promise((resolve) => setTimeout(resolve, 60));
    }
    const [record] = await h.recorder.waitForTurns(1);
    expect(record!.outcome).toBe('completed');
    expect(record!.transcript).not.toBe('');
    // The speculation started before the VAD ended the turn, and its reply was the reply.
    const names = h.eventLog.map((e) => (e.name === 'speculation' ? `speculation:${(e.e as { event: string }).event}` : e.name));
    expect(names.filter((n) => n === 'speculation:committed')).toHaveLength(1);
    expect(names.lastIndexOf('speculation:started')).toBeLessThan(names.indexOf('speculation:committed'));
    expect(names.indexOf('speculation:committed')).toBeLessThan(names.indexOf('transcript'));
    expect(record!.timings.preempted).toBe(true);
    expect(record!.timings.speculationLeadMs).toBeGreaterThan(0);
    expect(h.responder.requests.at(-1)!.text).toBe(record!.transcript);
    expect(spokenSentences(device)).toEqual(echo(record!.transcript));
  });
});
