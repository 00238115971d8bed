/**
 * Issue 4 item 6, end to end over both transports: whatever the LLM or TTS does, the device
 * gets a complete turn (docs/protocol.md §3.2): `stt final`, an `error` with the right code, a short
 * spoken apology where a voice still works, `tts stop` reason `error`; and the turn is stored
 * with its outcome and error code. The LLM is the real client against a loopback fake.
 */
import net from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SimDevice, SimTransport } from '../../device-sim/index.ts';
import { DEFAULT_APOLOGY_TEXT } from '../../gateway/session/turn-reply.ts';
import { startFakeGroqServer, type FakeGroqServer } from '../fakes/fake-groq-server.ts';
import { FakeTts } from '../fakes/fake-tts.ts';
import { speechClip } from './audio.ts';
import { disposeGatewaysAfterEach, type E2eGateway, TRANSPORTS, uniqueId } from './harness.ts';
import { GROQ_TEST_KEY, startWithRealBrain } from './real-brain.ts';

disposeGatewaysAfterEach();

let fake: FakeGroqServer;
beforeEach(async () => {
  fake = await startFakeGroqServer({ apiKey: GROQ_TEST_KEY });
});
afterEach(() => fake.close());

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The control messages of a device's turns, in order of arrival (partial transcripts left out). */
function recordFlow(device: SimDevice): string[] {
  const flow: string[] = [];
  device.on('message', (m) => {
    if (m.type === 'stt' && m.final) flow.push('stt final');
    else if (m.type === 'error') flow.push(`error ${m.code}`);
    else if (m.type === 'tts') flow.push(['tts', m.state, m.state === 'sentence_start' ? m.text : m.state === 'stop' ? m.reason : undefined].filter(Boolean).join(' '));
  });
  return flow;
}

describe.each(TRANSPORTS)('failures over %s', (transport: SimTransport) => {
  async function talker(gw: E2eGateway): Promise<{ device: SimDevice; id: string; flow: string[] }> {
    const creds = gw.addDevice(uniqueId('unlucky'));
    const device = await gw.connect(transport, creds);
    return { device, id: creds.id, flow: recordFlow(device) };
  }

  /** One spoken turn whose LLM fails: the complete turn of docs/protocol.md §3.2, with the apology spoken by espeak-ng. */
  async function expectApologyTurn(gw: E2eGateway): Promise<{ device: SimDevice; id: string; final: string }> {
    const { device, id, flow } = await talker(gw);
    const result = await device.talk(await speechClip(1), { speed: 2 });
    expect(flow).toEqual(['stt final', 'error llm_unavailable', 'tts start', `tts sentence_start ${DEFAULT_APOLOGY_TEXT}`, 'tts stop error']);
    expect(result.final).toBeTruthy();
    expect(result.errors.map((e) => [e.kind, e.code])).toEqual([['gateway_error', 'llm_unavailable']]);
    expect(result.sentences).toEqual([DEFAULT_APOLOGY_TEXT]);
    expect(result.replyAudio.packets).toBeGreaterThan(0);
    expect(result.stopReason).toBe('error');
    const stored = await gw.waitForTurn(id);
    expect(stored).toMatchObject({ outcome: 'error', errorCode: 'llm_unavailable', transcript: result.final });
    return { device, id, final: result.final! };
  }

  it('LLM unreachable (nothing listening on its port)', async () => {
    const gw = await startWithRealBrain({ baseUrl: `http://127.0.0.1:${await closedPort()}` });
    await expectApologyTurn(gw);
  });

  it('LLM refuses the API key (401)', async () => {
    const gw = await startWithRealBrain(fake, { overrides: { 'groq.apiKey': 'gsk_wrong_key' } });
    await expectApologyTurn(gw);
  });

  it('LLM rate limit that persists (429 on every try)', async () => {
    fake.chat.setDefault({ type: 'error', status: 429, retryAfterSeconds: 0 });
    const gw = await startWithRealBrain(fake);
    await expectApologyTurn(gw);
    expect(fake.chat.requests).toHaveLength(1 + gw.config.llm.maxRetries);
  });

  it('LLM that never answers (first-token timeout)', async () => {
    fake.chat.enqueue({ type: 'hang' });
    const gw = await startWithRealBrain(fake, { overrides: { 'llm.firstTokenTimeoutMs': 500 } });
    await expectApologyTurn(gw);
    expect(await fake.chat.requests[0]!.ended).toBe('client_closed');
  });

  it('LLM empty answer', async () => {
    fake.chat.enqueue({ type: 'empty' }, { type: 'text', text: 'Here I am.' });
    const gw = await startWithRealBrain(fake);
    const { device } = await expectApologyTurn(gw);
    // The session goes on: the next question gets an answer.
    await expect(device.typed('are you there?')).resolves.toMatchObject({ stopReason: 'done', sentences: ['Here I am.'] });
  });

  it('TTS failing on the second sentence: the first is heard, then error tts_unavailable and tts stop error', async () => {
    fake.chat.enqueue({ type: 'text', text: 'The first sentence is fine. The second one breaks the voice.' });
    const tts = new FakeTts({ fail: (text) => text.startsWith('The second') });
    const gw = await startWithRealBrain(fake, { engines: { tts } });
    const { device, id, flow } = await talker(gw);

    const result = await device.talk(await speechClip(1), { speed: 2 });

    expect(flow).toEqual(['stt final', 'tts start', 'tts sentence_start The first sentence is fine.', 'error tts_unavailable', 'tts stop error']);
    expect(result.final).toBeTruthy();
    expect(result.sentences).toEqual(['The first sentence is fine.']);
    expect(result.replyAudio.packets).toBeGreaterThan(0);
    expect(result.errors.map((e) => [e.kind, e.code])).toEqual([['gateway_error', 'tts_unavailable']]);
    expect(result.stopReason).toBe('error');
    expect(tts.requests.map((r) => r.text)).toEqual(['The first sentence is fine.', 'The second one breaks the voice.']);
    await expect(gw.waitForTurn(id)).resolves.toMatchObject({
      outcome: 'error',
      errorCode: 'tts_unavailable',
      transcript: result.final,
      reply: 'The first sentence is fine.',
    });
  });
});
