/**
 * The seam between a transport and a device session. A transport turns bytes into
 * these calls and back; the session never knows which transport is behind a link.
 */
import type { DeviceMessage, GatewayMessage, ParseResult } from '../../protocol/index.ts';
import type { ToolSource } from '../brain/types.ts';

export type TransportName = 'websocket' | 'mqtt';

/** What a session can do to its device. */
export interface DeviceLink {
  readonly deviceId: string;
  readonly transport: TransportName;
  /** Sends one JSON control message. */
  send(message: GatewayMessage): void;
  /** Sends one reply audio packet; `turn`/`seq` go in the MQTT frame header (WebSocket ignores them). */
  sendAudio(packet: Uint8Array, turn: number, seq: number): void;
  /** Ends the connection (or, on MQTT, the gateway's side of it). */
  close(reason: string): void;
  /** What this device does beyond the base protocol (stock xiaozhi firmware, gateway/xiaozhi/). */
  readonly capabilities?: LinkCapabilities;
}

/** Optional abilities of a device; a link without them gets the plain protocol. */
export interface LinkCapabilities {
  /** Send `llm {emotion}` before each reply's first sentence (a face on the device's screen). */
  emotion?: boolean;
  /** The device's own tools, offered to the model beside the gateway's at each turn (they may change during the session). */
  tools?: ToolSource;
  /** The device's playback queue is bounded: reply audio never runs further ahead than this (ms). */
  maxLeadMs?: number;
}

/** One microphone packet; `turn` and `seq` are present when the transport carries them (MQTT). */
export interface InboundAudio {
  packet: Uint8Array;
  turn?: number;
  seq?: number;
}

/** What a transport can tell a session. */
export interface DeviceSessionPort {
  /** One control message, already parsed and validated (or the reason it was not). */
  receiveControl(result: ParseResult<DeviceMessage>): void;
  receiveAudio(audio: InboundAudio): void;
  /** The device is gone (socket closed, MQTT disconnect or will, keepalive lost). */
  disconnected(reason: string): void;
}

/** Opens a session for a newly authenticated device; the transport feeds it until `disconnected`. */
export type SessionOpener = (link: DeviceLink) => DeviceSessionPort;
