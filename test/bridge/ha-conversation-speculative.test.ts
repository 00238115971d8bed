/**
 * `ha_conversation` and preemptive generation: Home Assistant acts on what it is told, so a
 * speculative request is not handed to it before the commit, and never when discarded.
 * Real embedded broker; the test plays Home Assistant's automation.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createBridgeTopics } from '../../gateway/bridge/bridge-topics.ts';
import { HaConversationResponder } from '../../gateway/bridge/ha-conversation.ts';
import { ProviderError } from '../../gateway/providers.ts';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../gateway/transport/embedded-broker.ts';
import { createCaptureLogger } from '../fakes/capture-logger.ts';
import { FakeResponder } from '../fakes/fake-responder.ts';

let broker: EmbeddedBroker | undefined;
afterEach(async () => {
  await broker?.close();
  broker = undefined;
});

async function setup() {
  const logger = createCaptureLogger().logger;
  broker = await startEmbeddedBroker({ host: '127.0.0.1', port: 0, topicPrefix: 'voxgate', authenticate: () => false, logger });
  const topics = createBridgeTopics({ discoveryPrefix: 'homeassistant', bridgePrefix: 'voxgate-bridge', devicePrefix: 'voxgate' });
  const responder = new HaConversationResponder({ fallback: new FakeResponder(), topics, timeoutMs: 5_000, logger });
  await responder.attach(broker);
  const asked: string[] = [];
  const bus = broker;
  await bus.subscribe(topics.conversationRequest(), (_topic, payload) => {
    const request = JSON.parse(payload.toString()) as { id: string; text: string };
    asked.push(request.text);
    void bus.publish(topics.conversationResponse(), JSON.stringify({ id: request.id, speech: 'Turned on the light.', handled: true }), { qos: 0 });
  });
  return { responder, asked };
}

function gate() {
  let open!: () => void;
  let close!: (err: unknown) => void;
  const promise = new Promise<void>((resolve, reject) => ((open = resolve), (close = reject)));
  promise.catch(() => {});
  return { wait: () => promise, open, close };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 100));

describe('ha_conversation with speculative requests', () => {
  it('asks Home Assistant only once the reply is committed', async () => {
    const { responder, asked } = await setup();
    const g = gate();
    const sentences = responder.reply({ deviceId: 'pin', text: 'turn on the light', signal: new AbortController().signal, beforeSideEffect: g.wait });
    const first = sentences[Symbol.asyncIterator]().next();
    await settle();
    expect(asked).toEqual([]);
    g.open();
    expect(await first).toEqual({ done: false, value: 'Turned on the light.' });
    expect(asked).toEqual(['turn on the light']);
  });

  it('never asks when the speculative reply is discarded', async () => {
    const { responder, asked } = await setup();
    const g = gate();
    const turn = new AbortController();
    const first = responder.reply({ deviceId: 'pin', text: 'turn on the light', signal: turn.signal, beforeSideEffect: g.wait })[Symbol.asyncIterator]().next();
    first.catch(() => {});
    const reason = new ProviderError('speculative reply discarded', false, 'aborted');
    turn.abort(reason);
    g.close(reason);
    await expect(first).rejects.toBe(reason);
    await settle();
    expect(asked).toEqual([]);
  });
});
