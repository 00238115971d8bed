/**
 * The microphone as the device protocol wants it: mono 16-bit PCM at 16 kHz in fixed
 * frames. The AudioContext runs at 16 kHz, so the browser does the resampling; the
 * AudioWorklet (mic-worklet.js) does the framing off the main thread.
 */
export const MIC_SAMPLE_RATE = 16000;

export class MicCapture {
  /** @param {number} frameMs  frame length (the protocol allows 20–120 ms for pcm16) */
  constructor(frameMs) {
    this.frameSamples = (MIC_SAMPLE_RATE * frameMs) / 1000;
    this.onFrame = () => {};
    this.context = undefined;
    this.node = undefined;
    this.stream = undefined;
    this.stopped = undefined;
  }

  /** Asks for the microphone once (call it from a click: browsers want a gesture). */
  async open() {
    this.stream = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
    });
    this.context = new AudioContext({ sampleRate: MIC_SAMPLE_RATE, latencyHint: 'interactive' });
    await this.context.audioWorklet.addModule('/mic-worklet.js');
    const source = this.context.createMediaStreamSource(this.stream);
    this.node = new AudioWorkletNode(this.context, 'pcm16-capture', {
      numberOfInputs: 1,
      numberOfOutputs: 1,
      channelCount: 1,
      channelCountMode: 'explicit',
      processorOptions: { frameSamples: this.frameSamples },
    });
    this.node.port.onmessage = (event) => {
      const message = event.data;
      if (message.type === 'frame') this.onFrame(message.pcm);
      else if (message.type === 'stopped' && this.stopped) {
        this.stopped(message.frames);
        this.stopped = undefined;
      }
    };
    // A silent path to the output keeps the graph (and so the worklet) running.
    const mute = this.context.createGain();
    mute.gain.value = 0;
    source.connect(this.node).connect(mute).connect(this.context.destination);
    await this.context.resume();
  }

  start() {
    this.node.port.postMessage('start');
  }

  /** Resolves with the number of frames sent in this recording, after the last one was posted. */
  stop() {
    return new Promise((resolve) => {
      this.stopped = resolve;
      this.node.port.postMessage('stop');
    });
  }

  async close() {
    this.stream?.getTracks().forEach((track) => track.stop());
    await this.context?.close();
    this.context = undefined;
  }
}
