/** Runs the one STT contract suite against every STT provider we have. */
import { FallbackSttProvider } from '../../gateway/speech/fallback-stt.ts';
import { GroqWhisperSttProvider } from '../../gateway/speech/groq-whisper-stt.ts';
import { WhisperSchema } from '../../gateway/speech/speech-config.ts';
import { startFakeGroqServer } from '../fakes/fake-groq-server.ts';
import { speechClip } from './helpers/audio.ts';
import { quietLogger, SILERO_SETTINGS, startSherpaStt } from './helpers/providers.ts';
import { describeSttContract } from './stt-contract.ts';

const speech = speechClip(4);

describeSttContract('sherpa-onnx (fixture transducer, 2 workers, Silero gate)', async () => {
  const provider = await startSherpaStt({ workers: 2 }, { vad: SILERO_SETTINGS });
  return { provider, speech, deterministic: true, close: () => provider.close() };
});

describeSttContract('sherpa-onnx (fixture transducer, 1 worker, no gate)', async () => {
  const provider = await startSherpaStt({ workers: 1, gate: false });
  return { provider, speech, deterministic: true, close: () => provider.close() };
});

async function groqSubject(wrapInFallbackAfterMissingSherpa: boolean) {
  const fake = await startFakeGroqServer();
  const groq = new GroqWhisperSttProvider({
    apiKey: 'test-key',
    baseUrl: fake.baseUrl,
    model: 'whisper-large-v3-turbo',
    settings: WhisperSchema.parse({ maxRetries: 0 }),
    logger: quietLogger(),
  });
  let provider: GroqWhisperSttProvider | FallbackSttProvider = groq;
  const closers: Array<() => Promise<void>> = [() => fake.close()];
  if (wrapInFallbackAfterMissingSherpa) {
    const sherpa = await startSherpaStt({ model: 'sherpa-onnx-streaming-zipformer-en-20M-2023-02-17' });
    provider = new FallbackSttProvider([sherpa, groq], quietLogger());
    closers.push(() => sherpa.close());
  }
  return {
    provider,
    speech,
    beforeTurn: (expected: 'speech' | 'silence') => {
      if (expected === 'speech') fake.transcriptions.enqueue({ type: 'text', text: 'turn on the kitchen light' });
    },
    close: async () => {
      for (const close of closers) await close();
    },
  };
}

describeSttContract('Groq Whisper (groq-sdk against the loopback fake)', () => groqSubject(false));
describeSttContract('fallback sherpa (model missing) → Groq Whisper', () => groqSubject(true));
