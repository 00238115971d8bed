/**
 * A DeviceLink for session tests: records every message and audio packet the session sends
 * (with the time it was sent), checks each message against the protocol's schema, and
 * lets a test wait for a message matching a predicate instead of sleeping.
 */
import { parseGatewayMessage, type GatewayMessage } from '../../protocol/index.ts';
import type { DeviceLink, LinkCapabilities, TransportName } from '../../gateway/session/link.ts';

export interface SentMessage {
  at: number;
  message: GatewayMessage;
}

export interface SentAudio {
  at: number;
  packet: Uint8Array;
  turn: number;
  seq: number;
}

export class FakeLink implements DeviceLink {
  readonly sent: SentMessage[] = [];
  readonly audio: SentAudio[] = [];
  /** Messages that did not validate against the protocol (should stay empty). */
  readonly violations: string[] = [];
  closed: { at: number; reason: string } | undefined;
  /** Set by a test before the session opens (emotion, device tools, lead cap). */
  capabilities: LinkCapabilities | undefined;
  private readonly waiters = new Set<() => void>();

  constructor(
    readonly deviceId = 'dev-1',
    readonly transport: TransportName = 'websocket',
    private readonly now: () => number = () => performance.now(),
  ) {}

  send(message: GatewayMessage): void {
    const parsed = parseGatewayMessage(JSON.stringify(message));
    if (parsed.kind !== 'message') this.violations.push(`${JSON.stringify(message)}: ${parsed.kind === 'invalid' ? parsed.reason : 'unknown type'}`);
    this.sent.push({ at: this.now(), message });
    this.notify();
  }

  sendAudio(packet: Uint8Array, turn: number, seq: number): void {
    this.audio.push({ at: this.now(), packet: packet.slice(), turn, seq });
    this.notify();
  }

  close(reason: string): void {
    this.closed ??= { at: this.now(), reason };
    this.notify();
  }

  /** Sent messages, optionally of one type. */
  messages<T extends GatewayMessage['type']>(type?: T): Extract<GatewayMessage, { type: T }>[] {
    return this.sent.map((s) => s.message).filter((m) => type === undefined || m.type === type) as Extract<GatewayMessage, { type: T }>[];
  }

  /** Resolves with the first sent message (already sent or future) matching `predicate`. */
  waitFor(predicate: (m: GatewayMessage) => boolean, timeoutMs = 10_000, what = 'a matching message'): Promise<GatewayMessage> {
    return this.waitUntil(() => this.sent.find((s) => predicate(s.message))?.message, timeoutMs, what);
  }

  /** Resolves once `count` audio packets have been sent. */
  waitForAudio(count: number, timeoutMs = 10_000): Promise<SentAudio[]> {
    return this.waitUntil(() => (this.audio.length >= count ? this.audio.slice(0, count) : undefined), timeoutMs, `${count} audio packets`);
  }

  waitForClose(timeoutMs = 10_000): Promise<{ at: number; reason: string }> {
    return this.waitUntil(() => this.closed, timeoutMs, 'the link to close');
  }

  /** Resolves when `check` returns something other than undefined, re-checking after each send. */
  waitUntil<R>(check: () => R | undefined, timeoutMs: number, what: string): Promise<R> {
    const first = check();
    if (first !== undefined) return Promise.resolve(first);
    return new Promise((resolve, reject) => {
      const waiter = () => {
        const value = check();
        if (value === undefined) return;
        clearTimeout(timer);
        this.waiters.delete(waiter);
        resolve(value);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; sent: ${this.describe()}`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** A compact log of what was sent, for failure messages. */
  describe(): string {
    return this.sent
      .map(({ message: m }) => {
        const extra = 'state' in m ? `:${m.state}` : m.type === 'error' ? `:${m.code}` : m.type === 'stt' ? `:${m.final ? 'final' : 'partial'}` : '';
        return `${m.type}${extra}`;
      })
      .join(', ') + ` (+${this.audio.length} audio)`;
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}
