/**
 * Where a turn's audio work runs (issue 13 §2), with the real engines: sherpa-onnx streaming
 * STT on the fixture model, gated by the real Silero VAD, espeak-ng, Opus both ways. An `auto`
 * turn is ended by the Silero that already gates the recognizer (one Silero per turn, in the
 * STT worker); the main thread creates and runs no Silero and resamples nothing; every reply
 * sentence reaches the device as packets encoded by the codec workers.
 */
import { describe, expect, it } from 'vitest';
import { resamplerStats } from '../../audio/resampler.ts';
import { FakeResponder } from '../fakes/fake-responder.ts';
import { fixtureModels } from '../fixtures/speech-fixtures.ts';
import { SILERO_VAD_MODEL } from '../speech/helpers/paths.ts';
import { speechClip } from './audio.ts';
import { watchMainThreadSilero } from './main-thread-silero.ts';
import { disposeGatewaysAfterEach, E2eGateway, TRANSPORTS, uniqueId } from './harness.ts';

disposeGatewaysAfterEach();

const REPLY = ['Sure.', 'The kitchen light is on now.'];

describe.each(TRANSPORTS)('an auto turn over %s with the real engines', (transport) => {
  it('is ended by the recognizer\'s own Silero; the main thread runs no Silero and encodes no audio', async () => {
    const silero = watchMainThreadSilero();
    try {
      const gw = await E2eGateway.start({
        engines: { responder: new FakeResponder({ sentences: REPLY }) },
        overrides: {
          'speech.stt': 'sherpa',
          'speech.sherpaStt.model': fixtureModels().asr,
          'speech.vad.model': SILERO_VAD_MODEL,
          'speech.tts': 'espeak',
          'speech.espeak.wordsPerMinute': 260,
        },
        logLevel: 'info',
      });
      const device = await gw.connect(transport, gw.addDevice(uniqueId('auto')), { codec: 'opus', replyRate: 24000 });
      const conversionsBefore = resamplerStats().conversions;
      const jobsBefore = { ...gw.gateway.codec.jobs };
      // Speech, then silence well past the VAD's 700 ms: the gateway ends the turn, the device never releases.
      const audio = new Float32Array(16000 * 6);
      audio.set(await speechClip(2.5));
      const frames = audio.length / 960;

      const result = await device.talk(audio, { mode: 'auto', speed: 2 });

      expect(result.errors).toEqual([]);
      expect(result.final).not.toBeNull();
      expect(result.micFrames).toBeLessThan(frames);
      expect(result.sentences).toEqual(REPLY);
      expect(result.stopReason).toBe('done');
      expect(result.replyAudio.packets).toBeGreaterThan(0);
      // One encode job per sentence, on the codec workers; no end-of-turn detector was needed there.
      expect(gw.gateway.codec.jobs.encode - jobsBefore.encode).toBe(REPLY.length);
      expect(gw.gateway.codec.jobs.detect - jobsBefore.detect).toBe(0);
      // The main thread: no Silero created or fed, no resampling.
      expect(silero.created).toBe(0);
      expect(silero.fed).toBe(0);
      expect(resamplerStats().conversions).toBe(conversionsBefore);
    } finally {
      silero.restore();
    }
  });
});
