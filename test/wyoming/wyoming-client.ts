/**
 * A Wyoming client for the tests, written from the protocol's README and event.py (not from
 * voxgate's server code): a JSON header line, then `data_length` bytes of JSON data merged
 * over any inline `data`, then `payload_length` bytes of payload. It can send either form
 * (inline `data`, as some clients do, or `data_length`, as the Python library does) and raw
 * bytes for the bad-input tests.
 */
import net from 'node:net';

export interface ClientEvent {
  type: string;
  data: Record<string, unknown>;
  payload: Buffer;
  /** The header line as received (to check the wire form). */
  header: Record<string, unknown>;
}

export type DataForm = 'data_length' | 'inline';

export const EVENT_TIMEOUT_MS = 10_000;

export class WyomingClient {
  private buffer = Buffer.alloc(0);
  private readonly events: ClientEvent[] = [];
  private waiter?: () => void;
  private ended = false;
  readonly closed: Promise<void>;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.parse();
      this.wake();
    });
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => {});
    void this.closed.then(() => {
      this.ended = true;
      this.wake();
    });
  }

  static connect(port: number, host = '127.0.0.1'): Promise<WyomingClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host }, () => resolve(new WyomingClient(socket)));
      socket.once('error', reject);
    });
  }

  /** Writes one event in the given form (default: the Python library's data_length form). */
  send(type: string, data?: Record<string, unknown>, payload?: Uint8Array, form: DataForm = 'data_length'): void {
    const header: Record<string, unknown> = { type, version: '1.7.1' };
    let dataBytes: Buffer | undefined;
    if (data && Object.keys(data).length > 0) {
      if (form === 'inline') header.data = data;
      else {
        dataBytes = Buffer.from(JSON.stringify(data));
        header.data_length = dataBytes.length;
      }
    }
    if (payload && payload.length > 0) header.payload_length = payload.length;
    const parts: Uint8Array[] = [Buffer.from(JSON.stringify(header) + '\n')];
    if (dataBytes) parts.push(dataBytes);
    if (payload && payload.length > 0) parts.push(Buffer.from(payload));
    this.socket.write(Buffer.concat(parts));
  }

  raw(bytes: string | Uint8Array): void {
    this.socket.write(bytes);
  }

  /** The next event; null when the server closed the connection first. */
  async next(timeoutMs = EVENT_TIMEOUT_MS): Promise<ClientEvent | null> {
    const deadline = Date.now() + timeoutMs;
    while (this.events.length === 0) {
      if (this.ended) return null;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no Wyoming event within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return this.events.shift()!;
  }

  /** Events until (and including) one of type `last`; throws if the connection closes first. */
  async until(last: string, timeoutMs = EVENT_TIMEOUT_MS): Promise<ClientEvent[]> {
    const out: ClientEvent[] = [];
    for (;;) {
      const event = await this.next(timeoutMs);
      if (!event) throw new Error(`connection closed before ${last}; got ${out.map((e) => e.type).join(', ') || 'nothing'}`);
      out.push(event);
      if (event.type === last) return out;
    }
  }

  /** Everything until the server closes the connection. */
  async rest(timeoutMs = EVENT_TIMEOUT_MS): Promise<ClientEvent[]> {
    const out: ClientEvent[] = [];
    for (let event = await this.next(timeoutMs); event; event = await this.next(timeoutMs)) out.push(event);
    return out;
  }

  close(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  private parse(): void {
    for (;;) {
      const newline = this.buffer.indexOf(0x0a);
      if (newline === -1) return;
      const header = JSON.parse(this.buffer.subarray(0, newline).toString('utf8')) as Record<string, unknown>;
      const dataLength = typeof header.data_length === 'number' ? header.data_length : 0;
      const payloadLength = typeof header.payload_length === 'number' ? header.payload_length : 0;
      const total = newline + 1 + dataLength + payloadLength;
      if (this.buffer.length < total) return;
      let data = (header.data as Record<string, unknown> | undefined) ?? {};
      if (dataLength > 0) data = { ...data, ...(JSON.parse(this.buffer.subarray(newline + 1, newline + 1 + dataLength).toString('utf8')) as Record<string, unknown>) };
      const payload = Buffer.from(this.buffer.subarray(newline + 1 + dataLength, total));
      this.buffer = this.buffer.subarray(total);
      this.events.push({ type: String(header.type), data, payload, header });
    }
  }
}

/** int16 little-endian PCM of float samples (what Home Assistant sends: 16 kHz, 16-bit, mono). */
export function pcm16(samples: Float32Array): Buffer {
  const out = Buffer.alloc(samples.length * 2);
  for (let i = 0; i < samples.length; i++) out.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(samples[i]! * 32768))), i * 2);
  return out;
}

/** Sends audio as Home Assistant does: audio-start, chunks of `chunkBytes`, audio-stop. */
export function sendAudio(client: WyomingClient, bytes: Buffer, format = { rate: 16000, width: 2, channels: 1 }, chunkBytes = 2048): void {
  client.send('audio-start', { ...format, timestamp: null });
  for (let i = 0; i < bytes.length; i += chunkBytes) client.send('audio-chunk', { ...format, timestamp: null }, bytes.subarray(i, i + chunkBytes));
  client.send('audio-stop', { timestamp: null });
}
