/**
 * The start of speech, from Silero VAD: realtime listening watches the open microphone with
 * it and starts a turn (or barges in on the reply) when someone speaks. Silero reports speech
 * once `minSpeechMs` of it has been heard; the caller keeps that much audio as pre-roll.
 */
import type { Vad } from '../sherpa/native.ts';
import type { SpeechStartDetector } from '../types.ts';

export class SileroSpeechStartDetector implements SpeechStartDetector {
  private vad: Vad | undefined;

  constructor(
    vad: Vad,
    private readonly onRelease: (vad: Vad) => void,
  ) {
    this.vad = vad;
  }

  accept(samples: Float32Array): boolean {
    const vad = this.vad;
    if (!vad) return false;
    vad.acceptWaveform(samples);
    // Finished segments are not needed: drop them so the VAD's buffer stays small.
    let segmentClosed = false;
    while (!vad.isEmpty()) {
      segmentClosed = true;
      vad.pop();
    }
    return vad.isDetected() || segmentClosed;
  }

  reset(): void {
    this.vad?.reset();
  }

  release(): void {
    const vad = this.vad;
    this.vad = undefined;
    if (vad) this.onRelease(vad);
  }
}
