/** Runs the one TTS contract suite against every TTS provider we have. */
import { EspeakTtsProvider } from '../../gateway/speech/espeak-tts.ts';
import { FallbackTtsProvider } from '../../gateway/speech/fallback-tts.ts';
import { EspeakSchema } from '../../gateway/speech/speech-config.ts';
import { quietLogger, startSherpaTts } from './helpers/providers.ts';
import { describeTtsContract } from './tts-contract.ts';

async function startEspeak() {
  const provider = new EspeakTtsProvider(EspeakSchema.parse({}), quietLogger());
  await provider.start();
  return provider;
}

describeTtsContract('sherpa-onnx (fixture piper voice, 2 workers)', async () => {
  const provider = await startSherpaTts({ workers: 2 });
  return { provider, honoursSpeed: true, close: () => provider.close() };
});

describeTtsContract('espeak-ng (Debian binary)', async () => {
  const provider = await startEspeak();
  return { provider, honoursSpeed: true, close: () => provider.close() };
});

describeTtsContract('fallback sherpa (voice missing) → espeak-ng', async () => {
  const sherpa = await startSherpaTts({ voice: 'vits-piper-en_US-amy-low' });
  const provider = new FallbackTtsProvider([sherpa, await startEspeak()], quietLogger());
  return { provider, honoursSpeed: true, close: () => provider.close() };
});
