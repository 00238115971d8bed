import { GroqLlm } from '../../gateway/brain/groq-llm.ts';
import { OpenAiCompatibleLlm } from '../../gateway/brain/openai-compatible-llm.ts';
import { startFakeGroqServer, startFakeOpenAiCompatibleServer } from '../fakes/fake-groq-server.ts';
import { describeLlmProviderContract } from './llm-provider-contract.ts';

describeLlmProviderContract('Groq (groq-sdk)', {
  startServer: () => startFakeGroqServer({ apiKey: 'gsk_test' }),
  createProvider: (fake, policy) => new GroqLlm({ apiKey: 'gsk_test', baseUrl: fake.baseUrl, policy }),
});

describeLlmProviderContract('OpenAI-compatible (fetch)', {
  startServer: () => startFakeOpenAiCompatibleServer(),
  createProvider: (fake, policy) => new OpenAiCompatibleLlm({ baseUrl: fake.baseUrl, model: 'llama3.2', policy }),
});
