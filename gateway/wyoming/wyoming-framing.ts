/**
 * Wyoming's wire format (OHF-Voice/wyoming, event.py): a JSON header line ending in "\n"
 * (`type`, optional inline `data`, `data_length`, `payload_length`, `version`), then
 * `data_length` bytes of JSON merged over the inline data, then `payload_length` bytes of
 * payload. The reader takes both the inline and the `data_length` form; the writer always
 * uses `data_length`, as the Python library does.
 *
 * The reader is incremental (bytes in as they arrive, whole events out) and bounded: a
 * header line, a data block or a payload longer than its limit is refused before it is
 * buffered. After a framing error the byte stream cannot be trusted again: the reader stays
 * failed and the connection is closed.
 */

/** The protocol version written in headers (the spec the server was written from). */
export const WYOMING_VERSION = '1.9.0';
/** A header line (inline data included) longer than this is refused: real ones are a few hundred bytes. */
export const MAX_HEADER_BYTES = 64 * 1024;
/** Extra JSON data: a synthesize event's text is the largest a client sends. */
export const MAX_DATA_BYTES = 256 * 1024;
/** One audio chunk: Home Assistant sends ~2 KB, satellites up to a few hundred ms of audio. */
export const MAX_PAYLOAD_BYTES = 1024 * 1024;

export interface WyomingEvent {
  type: string;
  data: Record<string, unknown>;
  payload?: Buffer;
}

export class WyomingFramingError extends Error {
  override name = 'WyomingFramingError';
}

export interface FrameLimits {
  maxHeaderBytes: number;
  maxDataBytes: number;
  maxPayloadBytes: number;
}

const DEFAULT_LIMITS: FrameLimits = { maxHeaderBytes: MAX_HEADER_BYTES, maxDataBytes: MAX_DATA_BYTES, maxPayloadBytes: MAX_PAYLOAD_BYTES };
const NEWLINE = 0x0a;

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A length field: absent or null is 0; anything else must be a whole number within `max`. */
function lengthField(header: Record<string, unknown>, key: string, max: number): number {
  const value = header[key];
  if (value === undefined || value === null) return 0;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new WyomingFramingError(`${key} must be a non-negative integer, got ${JSON.stringify(value)}`);
  }
  if (value > max) throw new WyomingFramingError(`${key} ${value} is over the limit of ${max} bytes`);
  return value;
}

interface Pending {
  type: string;
  data: Record<string, unknown>;
  dataLength: number;
  payloadLength: number;
}

export class WyomingReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** How many buffered bytes are known to hold no newline (the header search resumes there). */
  private scanned = 0;
  private pending?: Pending;
  private failed?: WyomingFramingError;
  private readonly limits: FrameLimits;

  constructor(limits: Partial<FrameLimits> = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  /** Bytes buffered towards the next event (a half-sent event at close shows here). */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** Adds received bytes; returns the events they completed. Throws WyomingFramingError on bad input. */
  push(chunk: Buffer): WyomingEvent[] {
    if (this.failed) throw this.failed;
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const events: WyomingEvent[] = [];
    try {
      for (let event = this.next(); event; event = this.next()) events.push(event);
    } catch (err) {
      this.failed = err as WyomingFramingError;
      this.chunks = [];
      this.buffered = 0;
      throw err;
    }
    return events;
  }

  private next(): WyomingEvent | undefined {
    if (!this.pending) {
      const lineEnd = this.findNewline();
      if (lineEnd === undefined) {
        if (this.buffered > this.limits.maxHeaderBytes) {
          throw new WyomingFramingError(`header line longer than ${this.limits.maxHeaderBytes} bytes without a newline`);
        }
        return undefined;
      }
      if (lineEnd > this.limits.maxHeaderBytes) throw new WyomingFramingError(`header line of ${lineEnd} bytes is over the limit of ${this.limits.maxHeaderBytes}`);
      const line = this.take(lineEnd + 1).subarray(0, lineEnd);
      this.pending = this.parseHeader(line);
    }
    const p = this.pending;
    if (this.buffered < p.dataLength + p.payloadLength) return undefined;
    this.pending = undefined;
    const data = p.dataLength > 0 ? { ...p.data, ...this.parseData(this.take(p.dataLength)) } : p.data;
    const event: WyomingEvent = { type: p.type, data };
    if (p.payloadLength > 0) event.payload = this.take(p.payloadLength);
    return event;
  }

  private parseHeader(line: Buffer): Pending {
    const text = line.toString('utf8').trim();
    if (text === '') throw new WyomingFramingError('empty header line');
    let header: unknown;
    try {
      header = JSON.parse(text);
    } catch {
      throw new WyomingFramingError('header line is not JSON');
    }
    if (!isPlainObject(header)) throw new WyomingFramingError('header is not a JSON object');
    if (typeof header.type !== 'string' || header.type === '') throw new WyomingFramingError('header has no event type');
    const inline = header.data;
    if (inline !== undefined && inline !== null && !isPlainObject(inline)) throw new WyomingFramingError('header data is not a JSON object');
    return {
      type: header.type,
      data: isPlainObject(inline) ? inline : {},
      dataLength: lengthField(header, 'data_length', this.limits.maxDataBytes),
      payloadLength: lengthField(header, 'payload_length', this.limits.maxPayloadBytes),
    };
  }

  private parseData(bytes: Buffer): Record<string, unknown> {
    let data: unknown;
    try {
      data = JSON.parse(bytes.toString('utf8'));
    } catch {
      throw new WyomingFramingError('event data is not JSON (data_length does not match what was sent?)');
    }
    if (!isPlainObject(data)) throw new WyomingFramingError('event data is not a JSON object');
    return data;
  }

  /** Index (within the buffered bytes) of the first newline, if one has arrived. */
  private findNewline(): number | undefined {
    let offset = 0;
    for (const chunk of this.chunks) {
      if (offset + chunk.length > this.scanned) {
        const at = chunk.indexOf(NEWLINE, Math.max(0, this.scanned - offset));
        if (at !== -1) return offset + at;
      }
      offset += chunk.length;
    }
    this.scanned = this.buffered;
    return undefined;
  }

  /** Removes and returns the first `n` buffered bytes (copied only when they span chunks). */
  private take(n: number): Buffer {
    this.scanned = 0;
    this.buffered -= n;
    const first = this.chunks[0]!;
    if (first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0]!;
      const part = Math.min(chunk.length, n - filled);
      chunk.copy(out, filled, 0, part);
      filled += part;
      if (part === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(part);
    }
    return out;
  }
}

/** One event in the Python library's form: header with `data_length`/`payload_length`, then data, then payload. */
export function encodeEvent(type: string, data?: Record<string, unknown>, payload?: Uint8Array): Buffer {
  const header: Record<string, unknown> = { type, version: WYOMING_VERSION };
  const dataBytes = data && Object.keys(data).length > 0 ? Buffer.from(JSON.stringify(data), 'utf8') : undefined;
  if (dataBytes) header.data_length = dataBytes.length;
  if (payload && payload.length > 0) header.payload_length = payload.length;
  const parts: Uint8Array[] = [Buffer.from(`${JSON.stringify(header)}\n`, 'utf8')];
  if (dataBytes) parts.push(dataBytes);
  if (payload && payload.length > 0) parts.push(payload);
  return Buffer.concat(parts);
}
