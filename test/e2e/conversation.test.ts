/**
 * Issue 4, end to end: a spoken question from the device simulator → sherpa (fixture model)
 * final transcript → the real brain streaming from a loopback fake Groq server through
 * groq-sdk → sentences → espeak-ng → paced reply audio, over both transports. The first
 * audio arrives while the fake LLM is still holding its answer; a barge-in keeps only what
 * was spoken; memory survives a restart and `reset` drops it; timings are stored and logged.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeGroqServer, type FakeGroqServer } from '../fakes/fake-groq-server.ts';
import { speechClip } from './audio.ts';
import { disposeGatewaysAfterEach, TRANSPORTS, uniqueId } from './harness.ts';
import { conversationOf, GROQ_TEST_KEY, startWithRealBrain } from './real-brain.ts';

disposeGatewaysAfterEach();

/** Allowance for loopback delivery and timer lateness on a loaded 2-core CI machine (not a speed target). */
const SLACK_MS = 300;

let fake: FakeGroqServer;
beforeEach(async () => {
  fake = await startFakeGroqServer({ apiKey: GROQ_TEST_KEY });
});
afterEach(() => fake.close());

describe.each(TRANSPORTS)('conversation over %s', (transport) => {
  it('speaks the first sentence while the LLM is still writing the answer; stores the turn with its timings', async () => {
    let release!: () => void;
    fake.chat.enqueue({
      type: 'text',
      text: 'Hello there. It is a sunny day today.',
      // "Hello", " there.", " It": the first sentence is complete, then the fake waits.
      holdAfterTokens: 3,
      release: new Promise<void>((resolve) => (release = resolve)),
    });
    const gw = await startWithRealBrain(fake);
    const creds = gw.addDevice(uniqueId('asker'));
    const device = await gw.connect(transport, creds);
    let llmStateAtFirstAudio: { tokensSent: number; end: string | undefined } | undefined;
    device.once('audio', () => {
      const request = fake.chat.requests[0];
      llmStateAtFirstAudio = request && { tokensSent: request.tokensSent, end: request.end };
      release();
    });

    const result = await device.talk(await speechClip(2), { speed: 1.5 });

    // Reply audio reached the device while the fake was holding after 3 tokens.
    expect(llmStateAtFirstAudio).toEqual({ tokensSent: 3, end: undefined });
    expect(await fake.chat.requests[0]!.ended).toBe('completed');
    expect(result.errors).toEqual([]);
    expect(result.stopReason).toBe('done');
    expect(result.final).toBeTruthy();
    expect(result.partials.length).toBeGreaterThan(0);
    expect(result.sentences).toEqual(['Hello there.', 'It is a sunny day today.']);
    expect(result.replyAudio.samples.length / result.replyAudio.sampleRate).toBeGreaterThan(1); // real speech from espeak-ng

    // What the real client sent: streamed, authenticated, the transcript as the user's words.
    const request = fake.chat.requests[0]!;
    expect(fake.chat.requests).toHaveLength(1);
    expect(request.headers.authorization).toBe(`Bearer ${GROQ_TEST_KEY}`);
    expect(request.body).toMatchObject({ model: 'llama-3.1-8b-instant', stream: true });
    expect(conversationOf(request.body)).toEqual([{ role: 'user', content: result.final }]);

    const stored = await gw.waitForTurn(creds.id);
    expect(stored).toMatchObject({ kind: 'audio', outcome: 'completed', transcript: result.final, reply: 'Hello there. It is a sunny day today.' });
    // Issue 4 item 7: every stage's timing, stored with the turn and in its 'turn ended' log line.
    for (const stage of ['releaseToFinalMs', 'finalToFirstTokenMs', 'firstTokenToFirstSentenceMs', 'firstSentenceToFirstAudioMs', 'releaseToFirstAudioMs', 'totalMs'] as const) {
      expect(stored.timings[stage], stage).toBeGreaterThanOrEqual(0);
    }
    expect(stored.timings.totalMs!).toBeGreaterThanOrEqual(stored.timings.releaseToFirstAudioMs!);
    const ended = gw.lines(creds.id, 'turn ended');
    expect(ended).toHaveLength(1);
    expect(ended[0]).toMatchObject({ turn: stored.turn, outcome: 'completed', timings: stored.timings });
  });

  it('stops the audio within one frame of a barge-in and remembers only the part that was spoken', async () => {
    const first = 'The weather today looks calm and mild from the early morning until late in the evening hours.';
    const full = `${first} There is no rain expected anywhere in the region. Enjoy the sunshine while it lasts.`;
    fake.chat.enqueue({ type: 'text', text: full });
    const gw = await startWithRealBrain(fake);
    const creds = gw.addDevice(uniqueId('interrupter'));
    const device = await gw.connect(transport, creds);

    const result = await device.talk(await speechClip(1), { speed: 1.5, abortAfterMs: 400 });

    expect(result.abortSent).toBe(true);
    expect(result.stopReason).toBe('aborted');
    const frameMs = device.gatewayHello!.audio_params.frame_duration;
    expect(result.timings.abortToLastAudioMs!).toBeLessThanOrEqual(frameMs + SLACK_MS);
    expect(result.sentences).toEqual([first]);
    const stored = await gw.waitForTurn(creds.id);
    expect(stored).toMatchObject({ outcome: 'aborted', reply: first });

    // The next question carries the spoken part as the assistant's last words, not the full answer.
    fake.chat.enqueue({ type: 'text', text: 'Sure.' });
    await device.typed('and tomorrow?');
    expect(conversationOf(fake.chat.requests[1]!.body)).toEqual([
      { role: 'user', content: result.final },
      { role: 'assistant', content: first },
      { role: 'user', content: 'and tomorrow?' },
    ]);
  });

  it('keeps the conversation across a gateway restart, and reset starts a new one', async () => {
    fake.chat.enqueue({ type: 'text', text: 'Nice to meet you.' }, { type: 'text', text: 'You just introduced yourself.' }, { type: 'text', text: 'I do not know yet.' });
    let gw = await startWithRealBrain(fake);
    const creds = gw.addDevice(uniqueId('rememberer'));
    let device = await gw.connect(transport, creds);
    const introduction = await device.talk(await speechClip(1.5), { speed: 1.5 });
    expect(introduction.stopReason).toBe('done');
    await gw.waitForTurn(creds.id);

    gw = await gw.restart();
    device = await gw.connect(transport, creds);
    const recall = await device.typed('what did I just say?');
    expect(recall.sentences).toEqual(['You just introduced yourself.']);
    expect(conversationOf(fake.chat.requests[1]!.body)).toEqual([
      { role: 'user', content: introduction.final },
      { role: 'assistant', content: 'Nice to meet you.' },
      { role: 'user', content: 'what did I just say?' },
    ]);

    await device.reset();
    await device.ping(); // the reset was handled before this answer (one ordered control channel)
    await device.typed('what did I just say?');
    expect(conversationOf(fake.chat.requests[2]!.body)).toEqual([{ role: 'user', content: 'what did I just say?' }]);
    expect(device.issues).toEqual([]);
  });
});
