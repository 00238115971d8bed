/**
 * Gates a recognizer with a VAD so that silence costs no decoding: audio passes while
 * the VAD says speech; while it says silence, only the last `prerollSamples` are kept, and
 * they are released ahead of the speech when it starts (the VAD confirms speech a few
 * hundred ms after it began, and the first syllable must not be lost).
 *
 * Silero in sherpa-onnx stays "detected" until `minSilenceDuration` of silence has passed,
 * so the end of each segment already carries that much trailing silence.
 *
 * The same VAD also ends `auto` turns (one Silero per turn): `endOfSpeech` turns true once
 * speech has been heard and a segment closed, i.e. `minSilenceDuration` of silence followed
 * it (the decision the turn-end detector makes). With `gating` false the gate passes all audio
 * and only watches for that end.
 */
import type { Vad } from '../sherpa/native.ts';

/** What the gate needs from a VAD (sherpa-onnx's `Vad`, or a stand-in in unit tests). */
export type GateVad = Pick<Vad, 'acceptWaveform' | 'isDetected' | 'isEmpty' | 'pop'>;

export class SpeechGate {
  private preroll: Float32Array;
  private prerollFill = 0;
  private open = false;
  private heardSpeech = false;
  /** Samples offered to the gate and samples let through (for stats). */
  received = 0;
  passed = 0;
  /** Speech was heard and then the configured trailing silence: an `auto` turn is over. */
  endOfSpeech = false;

  constructor(
    private readonly vad: GateVad,
    prerollSamples: number,
    private readonly gating = true,
  ) {
    this.preroll = new Float32Array(gating ? prerollSamples : 0);
  }

  /** Offers audio; returns the pieces to feed the recognizer, in order. */
  accept(samples: Float32Array): Float32Array[] {
    this.received += samples.length;
    this.vad.acceptWaveform(samples);
    let speech = this.vad.isDetected();
    if (speech) this.heardSpeech = true;
    // Completed segments are not needed (we stream): drop them so the VAD's buffer stays small.
    let segmentClosed = false;
    while (!this.vad.isEmpty()) {
      segmentClosed = true;
      this.vad.pop();
    }
    if (segmentClosed) this.heardSpeech = true;
    speech = this.vad.isDetected();
    if (this.heardSpeech && segmentClosed && !speech) this.endOfSpeech = true;
    const out: Float32Array[] = [];
    if (!this.gating) {
      out.push(samples);
    } else if (speech && !this.open) {
      this.open = true;
      const held = this.takePreroll();
      if (held.length) out.push(held);
      out.push(samples);
    } else if (speech || this.open) {
      // While open, pass everything, including the chunk in which the VAD closes (its tail).
      out.push(samples);
      if (!speech) this.open = false;
    } else {
      this.hold(samples);
    }
    for (const piece of out) this.passed += piece.length;
    return out;
  }

  /**
   * End of input. While the gate is closed, the held pre-roll is released anyway: speech
   * cut off by the button before the VAD confirmed it must still reach the recognizer.
   */
  flush(): Float32Array[] {
    if (this.open || !this.gating) return [];
    const held = this.takePreroll();
    this.passed += held.length;
    return held.length ? [held] : [];
  }

  private hold(samples: Float32Array): void {
    const cap = this.preroll.length;
    if (cap === 0) return;
    if (samples.length >= cap) {
      this.preroll.set(samples.subarray(samples.length - cap));
      this.prerollFill = cap;
      return;
    }
    const keep = Math.min(this.prerollFill, cap - samples.length);
    this.preroll.copyWithin(0, this.prerollFill - keep, this.prerollFill);
    this.preroll.set(samples, keep);
    this.prerollFill = keep + samples.length;
  }

  private takePreroll(): Float32Array {
    const held = this.preroll.slice(0, this.prerollFill);
    this.prerollFill = 0;
    return held;
  }
}
