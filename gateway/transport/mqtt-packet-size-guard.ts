/**
 * aedes has no packet size limit: its parser buffers whatever "remaining length" a client
 * declares (up to 256 MB), even before CONNECT is authenticated. This guard watches the bytes
 * aedes reads from a socket and reports the first packet that declares more than the cap, so
 * the connection can be destroyed before the packet is buffered.
 */
import type { Socket } from 'node:net';

/** Parses MQTT fixed headers across arbitrary chunk boundaries and skips the packet bodies. */
export class MqttPacketSizeScanner {
  /** Bytes of the current packet body still to skip. */
  private remainingBody = 0;
  /** 'type': next byte is a packet's first header byte; 'length': inside the variable-length field. */
  private state: 'type' | 'length' = 'type';
  private length = 0;
  private multiplier = 1;
  private lengthBytes = 0;

  constructor(private readonly maxPacketBytes: number) {}

  /** Returns a reason when the stream is over the cap or malformed, null while it is fine. */
  scan(chunk: Uint8Array): string | null {
    let i = 0;
    while (i < chunk.length) {
      if (this.remainingBody > 0) {
        const skip = Math.min(this.remainingBody, chunk.length - i);
        this.remainingBody -= skip;
        i += skip;
        continue;
      }
      const byte = chunk[i++]!;
      if (this.state === 'type') {
        this.state = 'length';
        this.length = 0;
        this.multiplier = 1;
        this.lengthBytes = 0;
        continue;
      }
      this.length += (byte & 0x7f) * this.multiplier;
      this.multiplier *= 128;
      this.lengthBytes++;
      if (this.length > this.maxPacketBytes) return `packet over ${this.maxPacketBytes} bytes`;
      if (byte & 0x80) {
        if (this.lengthBytes >= 4) return 'malformed remaining length';
        continue;
      }
      this.state = 'type';
      this.remainingBody = this.length;
    }
    return null;
  }
}

/**
 * Observes what aedes reads from `socket` (a passive 'data' listener: aedes reads in paused mode
 * with 'readable', and every read() also emits 'data') and calls `onTooLarge` once.
 */
export function guardMqttPacketSize(socket: Socket, maxPacketBytes: number, onTooLarge: (reason: string) => void): void {
  const scanner = new MqttPacketSizeScanner(maxPacketBytes);
  const listener = (chunk: Buffer) => {
    const problem = scanner.scan(chunk);
    if (problem) {
      socket.off('data', listener);
      onTooLarge(problem);
    }
  };
  socket.on('data', listener);
}
