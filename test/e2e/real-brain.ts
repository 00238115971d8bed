/**
 * A gateway whose language side is the real one (createResponder: groq-sdk against the
 * loopback fake Groq server, prompt, memory in SQLite, sentence splitting), with the sherpa
 * fixture recognizer and the espeak-ng voice built from config by the composition root.
 */
import type { EngineOverrides } from '../../gateway/app.ts';
import type { FakeGroqServer } from '../fakes/fake-groq-server.ts';
import { fixtureModels } from '../fixtures/speech-fixtures.ts';
import { E2eGateway } from './harness.ts';

export const GROQ_TEST_KEY = 'gsk_e2e_test_key';

/** Config of the real brain and speech engines, pointed at `groqBaseUrl`. */
export function realBrainOverrides(groqBaseUrl: string): Record<string, unknown> {
  return {
    'groq.apiKey': GROQ_TEST_KEY,
    'groq.baseUrl': groqBaseUrl,
    'speech.stt': 'sherpa',
    'speech.sherpaStt.model': fixtureModels().asr,
    'speech.tts': 'espeak',
    // Quicker speech keeps the paced (real-time) replies, and so the suite, short.
    'speech.espeak.wordsPerMinute': 260,
  };
}

export function startWithRealBrain(
  fake: Pick<FakeGroqServer, 'baseUrl'>,
  options: { overrides?: Record<string, unknown>; engines?: EngineOverrides } = {},
): Promise<E2eGateway> {
  return E2eGateway.start({ overrides: { ...realBrainOverrides(fake.baseUrl), ...options.overrides }, engines: options.engines });
}

/** The chat messages of one request to the fake, without the system prompt. */
export function conversationOf(body: Record<string, any>): Array<{ role: string; content: string }> {
  return (body.messages as Array<{ role: string; content: string }>).filter((m) => m.role !== 'system').map(({ role, content }) => ({ role, content }));
}
