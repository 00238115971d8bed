/**
 * Preemptive generation end to end, switched on as in the gateway's default configuration:
 * the device simulator over both transports, the real gateway, the engine fakes, and the real
 * Silero VAD for auto mode. A user who holds the button after the last word gets the reply
 * already in flight; a pause mid-sentence starts a speculation that is discarded unheard.
 */
import { describe, expect, it } from 'vitest';
import { SileroTurnEndDetectorFactory } from '../../gateway/speech/vad/turn-end.ts';
import { sine } from '../audio/signal.ts';
import { FakeResponder } from '../fakes/fake-responder.ts';
import { FakeStt } from '../fakes/fake-stt.ts';
import { FakeTts } from '../fakes/fake-tts.ts';
import { SILERO_VAD_MODEL } from '../helpers/fixture-paths.ts';
import { speechClip } from './audio.ts';
import { disposeGatewaysAfterEach, E2eGateway, TRANSPORTS, uniqueId } from './harness.ts';

disposeGatewaysAfterEach();

const echo = (text: string) => [`You said ${text}.`, 'Anything else?'];

function start(options: { turnEnd?: SileroTurnEndDetectorFactory; stt?: FakeStt } = {}) {
  const stt = options.stt ?? new FakeStt();
  const tts = new FakeTts({ msPerChar: 10 });
  const responder = new FakeResponder({ sentences: echo, firstTokenDelayMs: 100 });
  // On with its default settings (the e2e harness turns it off for the other tests).
  const overrides = { 'preemption.enabled': true };
  return E2eGateway.start({ engines: { stt, tts, responder, turnEnd: options.turnEnd }, overrides }).then((gw) => ({ gw, stt, tts, responder }));
}

/**
 * `words` words of tone (the fake recognizer hears one per 200 ms block; the tone ends mid-block,
 * so the codec's delay cannot spill a word into the next one), then `holdSeconds` of silence
 * with the button held.
 */
function wordsThenHold(words: number, holdSeconds: number): Float32Array {
  const tone = sine(220, 16000, words * 0.2 - 0.05, 0.3);
  const audio = new Float32Array(tone.length + Math.round(holdSeconds * 16000));
  audio.set(tone);
  return audio;
}

describe.each(TRANSPORTS)('preemptive generation over %s', (transport) => {
  it('holding the button after the last word: the reply started before release is the reply', async () => {
    const { gw, responder, tts } = await start();
    const creds = gw.addDevice(uniqueId('holder'));
    const device = await gw.connect(transport, creds);
    const result = await device.talk(wordsThenHold(3, 0.8));
    expect(result.errors).toEqual([]);
    expect(result.stopReason).toBe('done');
    expect(result.final).toBe('turn on the');
    expect(result.sentences).toEqual(echo('turn on the'));
    expect(responder.requests.map((r) => r.text)).toEqual(['turn on the']); // one LLM call
    expect(tts.requests.map((r) => r.text)).toEqual(echo('turn on the'));
    const record = await gw.waitForTurn(creds.id);
    expect(record).toMatchObject({ outcome: 'completed', transcript: 'turn on the', reply: echo('turn on the').join(' ') });
    expect(record.timings.preempted).toBe(true);
    expect(record.timings.speculationLeadMs).toBeGreaterThan(0);
  });

  it('a pause mid-sentence starts a speculation that is discarded when the user goes on: never heard or stored', async () => {
    const { gw, responder } = await start();
    const creds = gw.addDevice(uniqueId('pauser'));
    const device = await gw.connect(transport, creds);
    const words = wordsThenHold(2, 0.7);
    const more = sine(220, 16000, 0.35, 0.3);
    const audio = new Float32Array(words.length + more.length);
    audio.set(words);
    audio.set(more, words.length); // "turn on" … pause … "the kitchen", released at once
    const result = await device.talk(audio);
    expect(result.errors).toEqual([]);
    const [speculated, final] = responder.requests.map((r) => r.text);
    expect(responder.requests).toHaveLength(2);
    expect(speculated).toBe('turn on');
    expect(result.final).toBe(final);
    expect(final!.startsWith('turn on the')).toBe(true);
    expect(responder.requests[0]!.signal.aborted).toBe(true);
    expect(result.sentences).toEqual(echo(final!));
    const record = await gw.waitForTurn(creds.id);
    expect(record.reply).toBe(echo(final!).join(' '));
    expect(record.timings.preempted).toBe(false);
  });

  it('auto mode: the reply is made during the VAD’s silence wait (real Silero) and committed when it ends the turn', async () => {
    const turnEnd = new SileroTurnEndDetectorFactory({ model: SILERO_VAD_MODEL, threshold: 0.5, silenceMs: 700, minSpeechMs: 250 });
    const { gw, responder } = await start({ turnEnd });
    const creds = gw.addDevice(uniqueId('auto'));
    const device = await gw.connect(transport, creds);
    const speech = await speechClip(1.5, 2.5);
    const audio = new Float32Array(speech.length + 16000 * 3);
    audio.set(speech); // the microphone goes on sending silence until the gateway ends the turn
    const result = await device.talk(audio, { mode: 'auto' });
    expect(result.errors).toEqual([]);
    expect(result.stopReason).toBe('done');
    const record = await gw.waitForTurn(creds.id);
    expect(record.outcome).toBe('completed');
    expect(record.timings.audioMs).toBeLessThan((audio.length / 16000) * 1000); // the VAD ended it, not the device
    expect(record.timings.preempted).toBe(true);
    expect(responder.requests.at(-1)!.text).toBe(record.transcript);
    expect(result.sentences).toEqual(echo(record.transcript));
  });
});
