/**
 * What carries a simulated stock xiaozhi device's bytes: its WebSocket (ws-channel.ts) or
 * MQTT + encrypted UDP (mqtt-channel.ts). The device (xiaozhi-device.ts) sees JSON text and
 * Opus packets either way.
 */

export interface XiaozhiChannelHandlers {
  json(text: string): void;
  audio(payload: Uint8Array): void;
  /** Bytes the firmware would drop: a binary frame that does not parse, a datagram it refuses, a hello it cannot use. */
  invalid(reason: string): void;
  /** The connection ended. */
  closed(reason: string): void;
  /** MQTT only: the gateway's `goodbye` closed the audio channel (the MQTT connection stays). */
  channelClosed?(reason: string): void;
}

export interface XiaozhiSimChannel {
  readonly transport: 'websocket' | 'mqtt';
  sendJson(message: Record<string, unknown>): Promise<void>;
  sendAudio(packet: Uint8Array): void;
  /** Bytes exactly as given, no framing added (bad-input tests): a WebSocket frame, or a UDP datagram. */
  sendRawBinary(frame: Uint8Array): void;
  close(): Promise<void>;
  drop(): void;
}
