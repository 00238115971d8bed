/**
 * Mode `ha_assist` against a fake Home Assistant conversation API on loopback (the real
 * request and response shapes): HA's spoken answer is the reply, its conversation_id is kept
 * per wearable, no_intent_match and an unreachable, slow or token-refusing Home Assistant go
 * to the language model (logged once), and a failing language model still fails the turn
 * (so the session apologises). Then the whole gateway in this mode, over MQTT.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ReplyRequest } from '../../gateway/brain/types.ts';
import { startGateway } from '../../gateway/app.ts';
import { HaAssistResponder } from '../../gateway/bridge/ha-assist.ts';
import { loadConfig } from '../../gateway/config.ts';
import { ProviderError } from '../../gateway/providers.ts';
import { createCaptureLogger, type CapturedLogger } from '../fakes/capture-logger.ts';
import { FakeHomeAssistant, NO_INTENT_MATCH } from '../fakes/fake-home-assistant.ts';
import { FakeResponder } from '../fakes/fake-responder.ts';
import { FakeStt } from '../fakes/fake-stt.ts';
import { FakeTts } from '../fakes/fake-tts.ts';
import { useTempDirs } from '../helpers/temp-dir.ts';
import { BridgeWorld } from './helpers/bridge-world.ts';

const LLM_ANSWER = ['The language model answers.'];
const fakes: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const f of fakes.splice(0)) await f.close();
});

async function world(options: { timeoutMs?: number; agentId?: string; token?: string; url?: string } = {}) {
  const ha = await FakeHomeAssistant.start();
  fakes.push(ha);
  const llm = new FakeResponder({ sentences: LLM_ANSWER });
  const log = createCaptureLogger('debug');
  const responder = new HaAssistResponder({
    fallback: llm,
    url: options.url ?? `${ha.url}/`,
    token: options.token ?? ha.token,
    agentId: options.agentId,
    timeoutMs: options.timeoutMs ?? 2_000,
    logger: log.logger,
  });
  return { ha, llm, log, responder };
}

async function say(responder: HaAssistResponder, deviceId: string, text: string, extra: Partial<ReplyRequest> = {}): Promise<string[]> {
  const out: string[] = [];
  for await (const sentence of responder.reply({ deviceId, text, signal: new AbortController().signal, ...extra })) out.push(sentence);
  return out;
}

const warnings = (log: CapturedLogger) => log.lines.filter((l) => l.level === 40);

describe('HaAssistResponder (bridge.mode ha_assist)', () => {
  it('sends the transcript to /api/conversation/process with the token and speaks response.speech.plain.speech', async () => {
    const { ha, llm, responder } = await world({ agentId: 'conversation.home_assistant' });
    ha.answer = () => ({ speech: 'Turned on the kitchen light. Anything else?' });
    const firstToken: number[] = [];
    expect(await say(responder, 'kitchen-1', 'turn on the kitchen light', { language: 'en', onFirstToken: () => firstToken.push(1) })).toEqual([
      'Turned on the kitchen light.',
      'Anything else?',
    ]);
    expect(firstToken).toEqual([1]);
    expect(ha.requests).toEqual([
      { authorization: `Bearer ${ha.token}`, body: { text: 'turn on the kitchen light', language: 'en', agent_id: 'conversation.home_assistant' } },
    ]);
    expect(llm.requests).toHaveLength(0);
  });

  it('keeps the conversation_id Home Assistant returns, per wearable, for follow-up turns; reset forgets it', async () => {
    const { ha, llm, responder } = await world();
    await say(responder, 'kitchen-1', 'turn on the kitchen light');
    await say(responder, 'hall-1', 'what time is it');
    await say(responder, 'kitchen-1', 'and the hall too');
    const [first, other, followUp] = ha.requests.map((r) => r.body);
    expect(first).not.toHaveProperty('conversation_id'); // HA's schema wants a string or nothing
    expect(other).not.toHaveProperty('conversation_id');
    expect(followUp!.conversation_id).toMatch(/^[0-9A-Z]{26}$/);
    // The id HA returned for kitchen-1's first turn, not hall-1's.
    await say(responder, 'hall-1', 'thanks');
    expect(ha.requests[3]!.body.conversation_id).not.toBe(followUp!.conversation_id);
    responder.resetConversation('kitchen-1');
    await say(responder, 'kitchen-1', 'start over');
    expect(ha.requests[4]!.body).not.toHaveProperty('conversation_id');
    expect(llm.resets).toEqual(['kitchen-1']);
  });

  it('no_intent_match goes to the language model; other errors are Home Assistant’s own answer', async () => {
    const { ha, llm, responder } = await world();
    ha.answer = (body) => (String(body.text).includes('joke') ? NO_INTENT_MATCH : { speech: 'Sorry, I am not aware of any device called garage', responseType: 'error', code: 'no_valid_targets' });
    expect(await say(responder, 'kitchen-1', 'tell me a joke', { language: 'en' })).toEqual(LLM_ANSWER);
    expect(llm.requests).toEqual([expect.objectContaining({ deviceId: 'kitchen-1', text: 'tell me a joke', language: 'en' })]);
    expect(await say(responder, 'kitchen-1', 'open the garage')).toEqual(['Sorry, I am not aware of any device called garage']);
    expect(llm.requests).toHaveLength(1);
  });

  it('an unreachable Home Assistant: the language model answers, and the problem is logged once', async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const { llm, log, responder } = await world({ url: `http://127.0.0.1:${port}` });
    expect(await say(responder, 'kitchen-1', 'turn on the light')).toEqual(LLM_ANSWER);
    expect(await say(responder, 'kitchen-1', 'turn off the light')).toEqual(LLM_ANSWER);
    expect(llm.requests).toHaveLength(2);
    expect(warnings(log)).toHaveLength(1);
    expect(warnings(log)[0]).toMatchObject({ err: expect.stringMatching(/ECONNREFUSED/) });
  });

  it('a Home Assistant slower than the limit: the language model answers within the limit', async () => {
    const { ha, llm, log, responder } = await world({ timeoutMs: 300 });
    ha.answer = () => ({ speech: 'Done, eventually.', delayMs: 3_000 });
    const started = Date.now();
    expect(await say(responder, 'kitchen-1', 'turn on the light')).toEqual(LLM_ANSWER);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(llm.requests).toHaveLength(1);
    expect(warnings(log)[0]).toMatchObject({ err: 'Home Assistant did not answer within 300 ms' });
  });

  it('a wrong token (401): the language model answers; the log says to check the token, once; recovery is logged', async () => {
    const { ha, log, responder } = await world({ token: 'not-the-token' });
    expect(await say(responder, 'kitchen-1', 'turn on the light')).toEqual(LLM_ANSWER);
    expect(await say(responder, 'kitchen-1', 'turn on the light')).toEqual(LLM_ANSWER);
    expect(ha.requests).toHaveLength(0); // refused before the body is looked at
    expect(warnings(log)).toEqual([expect.objectContaining({ err: expect.stringMatching(/refused the access token \(HTTP 401\): check VOXGATE_HA_TOKEN/) })]);

    const good = new HaAssistResponder({ fallback: new FakeResponder(), url: ha.url, token: ha.token, timeoutMs: 2_000, logger: log.logger });
    expect(await say(good, 'kitchen-1', 'turn on the light')).toEqual(['Done.']);
  });

  it('when the language model fails too, the turn fails (the session then apologises)', async () => {
    const failing = new HaAssistResponder({
      fallback: new FakeResponder({ failAfter: 0 }),
      url: 'http://127.0.0.1:1',
      token: 't',
      timeoutMs: 500,
      logger: createCaptureLogger('silent').logger,
    });
    await expect(say(failing, 'kitchen-1', 'hello')).rejects.toBeInstanceOf(ProviderError);
  });

  it('a turn aborted while Home Assistant thinks asks nobody else', async () => {
    const { ha, llm, responder } = await world();
    ha.answer = () => ({ speech: 'Late.', delayMs: 1_000 });
    const controller = new AbortController();
    const pending = say(responder, 'kitchen-1', 'turn on the light', { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    await expect(pending).rejects.toMatchObject({ reason: 'aborted' });
    expect(llm.requests).toHaveLength(0);
  });
});

describe('the gateway in mode ha_assist', () => {
  const tempDir = useTempDirs('ha-assist');

  it('refuses to start without Home Assistant’s URL and token', async () => {
    const env = { VOXGATE_BRIDGE_MODE: 'ha_assist', VOXGATE_HA_URL: 'http://ha.local:8123', VOXGATE_DATA_DIR: tempDir(), VOXGATE_HOST: '127.0.0.1' };
    const config = loadConfig({ env: { ...env, VOXGATE_HTTP_PORT: '0', VOXGATE_MQTT_PORT: '0', VOXGATE_WYOMING_PORT: 'off' } });
    expect(config.homeAssistant).toEqual({ url: 'http://ha.local:8123' });
    expect(config.bridge.mode).toBe('ha_assist');
    const started = startGateway(config, { logger: createCaptureLogger('silent').logger, engines: { stt: new FakeStt(), tts: new FakeTts() } });
    await expect(started).rejects.toThrow(/VOXGATE_HA_URL, VOXGATE_HA_TOKEN/);
  });

  it('a wearable’s turns are answered by Home Assistant’s Assist, and what it cannot do by the LLM', async () => {
    const ha = await FakeHomeAssistant.start();
    fakes.push(ha);
    ha.answer = (body) => (String(body.text).includes('light') ? { speech: 'Turned on the kitchen light.' } : NO_INTENT_MATCH);
    const w = await BridgeWorld.start('embedded', tempDir(), { bridge: { mode: 'ha_assist' }, homeAssistant: { url: ha.url, token: ha.token } });
    const sim = await w.connectWearable();

    const first = await sim.typed('turn on the kitchen light');
    expect(first.sentences).toEqual(['Turned on the kitchen light.']);
    expect(w.groq.chat.requests).toHaveLength(0);

    w.groq.chat.enqueue({ type: 'text', text: 'Why did the bulb blush? It saw the switch.' });
    const second = await sim.typed('tell me a joke');
    expect(second.sentences).toEqual(['Why did the bulb blush?', 'It saw the switch.']);
    expect(w.groq.chat.requests).toHaveLength(1);
    expect(ha.requests.map((r) => r.body.text)).toEqual(['turn on the kitchen light', 'tell me a joke']);
    expect(ha.requests[1]!.body.conversation_id).toEqual(expect.any(String));
  });
});
