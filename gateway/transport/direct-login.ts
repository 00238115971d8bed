/**
 * Direct logins on the embedded broker: MQTT clients that another room serves itself, one
 * connection at a time, outside voxgate's topic protocol. Stock xiaozhi firmware is one
 * (gateway/xiaozhi/mqtt-udp/): it publishes its JSON to one topic and never subscribes,
 * expecting the server to write PUBLISH packets straight onto its connection.
 *
 * Such a client has none of the rights of a voxgate device or service login:
 * - it may publish to its `publishTopic` only, and what it publishes there goes to its own
 *   handler, never onto the bus (no subscriber, in-process or not, ever sees it);
 * - every other publish is refused (acknowledged and dropped, logged once), every
 *   subscription refused (SUBACK 0x80);
 * - its will, if it sets one, obeys the same rule.
 * What it receives is only what its handler pushes onto its connection.
 */

/** One connected direct client, as its handler sees it. */
export interface DirectConnection {
  /** Where the client connects from, and the gateway address it reached (IPv4-mapped IPv6 unwrapped). */
  readonly remoteAddress: string | undefined;
  readonly localAddress: string | undefined;
  /** Writes one QoS 0 PUBLISH onto this connection; `written` runs once it is on the socket (or failed). */
  push(topic: string, payload: string | Uint8Array, written?: (error?: Error) => void): void;
  /** Ends the connection. */
  close(): void;
}

/** The handler of one accepted direct login. */
export interface DirectClient {
  /** For log lines (e.g. `xiaozhi:<device id>`). */
  readonly name: string;
  /** The one topic it may publish to. */
  readonly publishTopic: string;
  /** CONNACK sent: the connection is usable. */
  connected(connection: DirectConnection): void;
  /** A PUBLISH to `publishTopic`, in arrival order. */
  received(payload: Buffer): void;
  /** The connection ended (after `connected`, or instead of it when it failed before). */
  disconnected(reason: string): void;
}

/**
 * Asked first for every CONNECT: null when the login is not a direct one (voxgate's own
 * device and service logins then apply), else the client to serve or a refusal with the
 * MQTT 3.1.1 CONNACK code (4 bad user name or password, 5 not authorized, 3 unavailable).
 */
export type AuthenticateDirect = (clientId: string, username: string, password: string) => DirectClient | { refused: 3 | 4 | 5 } | null;

/** `::ffff:192.168.1.10` → `192.168.1.10`. */
export function plainAddress(address: string | undefined): string | undefined {
  return address?.startsWith('::ffff:') ? address.slice(7) : address;
}
