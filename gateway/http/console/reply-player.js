/**
 * Plays reply audio (16-bit PCM packets at the rate the gateway announced in hello) as it
 * arrives: each packet is scheduled right after the previous one, so playback is gapless
 * and starts with the first packet. Counts what was played for the turn's timings.
 */
/** A little headroom before the first packet, so a late second packet does not stutter. */
const START_DELAY_S = 0.05;

export class ReplyPlayer {
  constructor() {
    this.context = undefined;
    this.sampleRate = 24000;
    this.sources = new Set();
    this.nextTime = 0;
    this.reset();
  }

  /** Create the output in a user gesture (browsers start audio only after one). */
  async open() {
    this.context ??= new AudioContext({ latencyHint: 'interactive' });
    await this.context.resume();
  }

  setSampleRate(rate) {
    this.sampleRate = rate;
  }

  reset() {
    this.queuedSamples = 0;
    this.playedSamples = 0;
    this.firstPlayAt = undefined;
    this.onIdle = undefined;
  }

  /** @param {ArrayBuffer} packet little-endian 16-bit mono PCM */
  enqueue(packet) {
    const pcm = new Int16Array(packet);
    if (pcm.length === 0) return;
    const buffer = this.context.createBuffer(1, pcm.length, this.sampleRate);
    const channel = buffer.getChannelData(0);
    for (let i = 0; i < pcm.length; i++) channel[i] = pcm[i] / 32768;
    const source = this.context.createBufferSource();
    source.buffer = buffer;
    source.connect(this.context.destination);
    const now = this.context.currentTime;
    const at = Math.max(this.nextTime, now + (this.sources.size === 0 ? START_DELAY_S : 0));
    this.nextTime = at + buffer.duration;
    this.firstPlayAt ??= performance.now() + (at - now) * 1000;
    this.queuedSamples += pcm.length;
    this.sources.add(source);
    source.onended = () => {
      this.sources.delete(source);
      this.playedSamples += pcm.length;
      if (this.sources.size === 0) this.onIdle?.();
    };
    source.start(at);
  }

  get playing() {
    return this.sources.size > 0;
  }

  get playedMs() {
    return (this.playedSamples / this.sampleRate) * 1000;
  }

  /** Resolves once everything queued so far has played. */
  drained() {
    if (this.sources.size === 0) return Promise.resolve();
    return new Promise((resolve) => (this.onIdle = resolve));
  }

  /** Barge-in: silence now. */
  stop() {
    for (const source of this.sources) {
      source.onended = null;
      source.stop();
    }
    this.sources.clear();
    this.nextTime = 0;
    this.onIdle?.();
  }
}
