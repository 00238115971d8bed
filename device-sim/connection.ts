/**
 * One interface over the two transports of docs/protocol.md §1, so the simulated device does not
 * care which one carries its messages. A connection moves bytes only: it never parses JSON
 * (the device validates every message) and never knows about turns beyond the MQTT frame header.
 */
import type { DeviceMessage } from '../protocol/index.ts';

export type SimTransport = 'websocket' | 'mqtt';

/** Where a reply audio packet came from on MQTT (WebSocket carries no header). */
export interface ReplyFrameHeader {
  turn: number;
  seq: number;
}

/** What a connection reports; all of it arrives in order of receipt on the one socket. */
export interface ConnectionHandlers {
  /** One JSON control message, as text. */
  control(text: string): void;
  /** One reply audio packet. */
  audio(packet: Uint8Array, header: ReplyFrameHeader | undefined): void;
  /** Something arrived that is not a valid frame (MQTT: a bad audio frame header). */
  invalid(reason: string): void;
  /** The connection ended, for whatever reason (reported once, also after close()). */
  closed(reason: string): void;
}

export interface ConnectOptions {
  /** ws://host:port[/v1/device] or mqtt://host:port. */
  url: string;
  deviceId: string;
  token: string;
  /** MQTT topic prefix (docs/protocol.md §1.2); ignored by WebSocket. */
  prefix: string;
  connectTimeoutMs: number;
  closeTimeoutMs: number;
}

export interface DeviceConnection {
  readonly transport: SimTransport;
  /** Sends one control message; resolves once it is written (WebSocket) or acknowledged (MQTT QoS 1). */
  sendControl(message: DeviceMessage): Promise<void>;
  /** Sends one microphone packet; `turn`/`seq` go in the MQTT frame header. Dropped silently when closed. */
  sendAudio(packet: Uint8Array, turn: number, seq: number): void;
  /** Orderly close (WebSocket close frame / MQTT DISCONNECT, so no will). */
  close(): Promise<void>;
  /** Abrupt loss, as when a device walks out of range: the socket is destroyed (MQTT: the will fires). */
  drop(): void;
}

export type ConnectFailure = 'unauthorized' | 'refused' | 'timeout' | 'failed';

/** Why a connection could not be opened: bad credentials (HTTP 401 / CONNACK 4–5), nothing listening, no answer in time, other. */
export class ConnectError extends Error {
  constructor(
    readonly failure: ConnectFailure,
    message: string,
  ) {
    super(message);
    this.name = 'ConnectError';
  }
}

/** Runs `fn` once, whichever of several paths (success, error, timeout) gets there first. */
export function once<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void {
  let done = false;
  return (...args: A) => {
    if (done) return;
    done = true;
    fn(...args);
  };
}
