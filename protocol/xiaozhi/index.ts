/** The stock xiaozhi-esp32 firmware's wire formats (docs/xiaozhi.md), for the gateway's adapter and the simulator. */
export * from './binary-frame.ts';
export * from './messages.ts';
export * from './udp-packet.ts';
