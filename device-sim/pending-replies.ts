/**
 * Answers a simulated device is waiting for, each with a deadline: the gateway's `hello`,
 * `pong`s, and messages a caller waits for. When the connection ends, every wait is rejected
 * and every timer cleared, so a closed device leaves nothing behind.
 */
import type { GatewayHello, GatewayMessage } from '../protocol/index.ts';

interface Pending<T> {
  resolve(value: T): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

interface MessageWaiter extends Pending<GatewayMessage> {
  match(message: GatewayMessage): boolean;
}

export class PendingReplies {
  private hello: Pending<GatewayHello> | undefined;
  private readonly pings = new Map<number, Pending<number> & { sentAt: number }>();
  private readonly waiters = new Set<MessageWaiter>();

  constructor(private readonly now: () => number) {}

  /** Waits for the gateway's hello; `onTimeout` runs first when none comes within `timeoutMs`. */
  expectHello(timeoutMs: number, onTimeout: (message: string) => void): Promise<GatewayHello> {
    return new Promise<GatewayHello>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.hello = undefined;
        const message = `no hello from the gateway within ${timeoutMs} ms`;
        onTimeout(message);
        reject(new Error(message));
      }, timeoutMs);
      this.hello = { resolve, reject, timer };
    });
  }

  get awaitingHello(): boolean {
    return this.hello !== undefined;
  }

  resolveHello(hello: GatewayHello): void {
    const waiter = this.hello;
    if (!waiter) return;
    this.hello = undefined;
    clearTimeout(waiter.timer);
    waiter.resolve(hello);
  }

  /** Waits for `pong` `id`, resolving with the round trip in ms; `onTimeout` runs first when none comes in time. */
  expectPong(id: number, timeoutMs: number, onTimeout: () => void): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pings.delete(id);
        onTimeout();
        reject(new Error(`no pong within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pings.set(id, { resolve, reject, timer, sentAt: this.now() });
    });
  }

  /** Settles ping `id`: resolved by its pong, or rejected with `error` (the ping could not be sent). */
  settlePing(id: number, error?: Error): void {
    const ping = this.pings.get(id);
    if (!ping) return;
    this.pings.delete(id);
    clearTimeout(ping.timer);
    if (error) ping.reject(error);
    else ping.resolve(this.now() - ping.sentAt);
  }

  /** Resolves with the next message that matches. */
  waitFor(match: (message: GatewayMessage) => boolean, timeoutMs: number): Promise<GatewayMessage> {
    return new Promise((resolve, reject) => {
      const waiter: MessageWaiter = {
        match,
        resolve: (message) => (clearTimeout(waiter.timer), this.waiters.delete(waiter), resolve(message)),
        reject: (error) => (clearTimeout(waiter.timer), this.waiters.delete(waiter), reject(error)),
        timer: setTimeout(() => waiter.reject(new Error(`no matching message within ${timeoutMs} ms`)), timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  /** Hands a received message to every waiter it matches. */
  offer(message: GatewayMessage): void {
    for (const waiter of [...this.waiters]) if (waiter.match(message)) waiter.resolve(message);
  }

  /** The connection ended: every wait fails with the reason. */
  rejectAll(reason: string): void {
    if (this.hello) {
      clearTimeout(this.hello.timer);
      this.hello.reject(new Error(`connection ended before hello: ${reason}`));
      this.hello = undefined;
    }
    for (const id of [...this.pings.keys()]) this.settlePing(id, new Error(`connection ended: ${reason}`));
    for (const waiter of [...this.waiters]) waiter.reject(new Error(`connection ended: ${reason}`));
  }
}
