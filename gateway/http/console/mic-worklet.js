/**
 * Runs on the audio thread: while recording, cuts the microphone (already at the context's
 * 16 kHz) into frames of `frameSamples`, converts them to 16-bit PCM and posts each one.
 * `stop` posts the last partial frame padded with silence, then `stopped` with the count.
 */
class Pcm16CaptureProcessor extends AudioWorkletProcessor {
  constructor(options) {
    super();
    this.frameSamples = options.processorOptions.frameSamples;
    this.frame = new Int16Array(this.frameSamples);
    this.filled = 0;
    this.recording = false;
    this.frames = 0;
    this.port.onmessage = (event) => {
      if (event.data === 'start') {
        this.recording = true;
        this.filled = 0;
        this.frames = 0;
      } else if (event.data === 'stop' && this.recording) {
        this.recording = false;
        if (this.filled > 0) {
          this.frame.fill(0, this.filled);
          this.post();
        }
        this.port.postMessage({ type: 'stopped', frames: this.frames });
      }
    };
  }

  post() {
    const out = this.frame;
    this.frame = new Int16Array(this.frameSamples);
    this.filled = 0;
    this.frames++;
    this.port.postMessage({ type: 'frame', pcm: out.buffer }, [out.buffer]);
  }

  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (!this.recording || !channel) return true;
    for (let i = 0; i < channel.length; i++) {
      const s = Math.max(-1, Math.min(1, channel[i]));
      this.frame[this.filled++] = s < 0 ? Math.round(s * 32768) : Math.round(s * 32767);
      if (this.filled === this.frameSamples) this.post();
    }
    return true;
  }
}

registerProcessor('pcm16-capture', Pcm16CaptureProcessor);
