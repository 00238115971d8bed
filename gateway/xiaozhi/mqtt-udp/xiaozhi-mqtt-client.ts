/**
 * One stock xiaozhi device on the embedded broker (main/protocols/mqtt_protocol.cc): its MQTT
 * connection lasts while it runs; an audio channel opens with each hello it publishes and
 * closes with `goodbye` either way. Each channel is one voxgate session (xiaozhi-session.ts)
 * with its own UDP audio session (new ssrc, key and sequences); its JSON goes onto the device's
 * connection as PUBLISH packets, since the firmware never subscribes.
 *
 * - hello: version 3 and transport `udp`, else `error bad_message` and no channel (the firmware
 *   then gives up after 10 s). The credentials are checked again: a device removed, or whose
 *   token was rotated, since it connected loses its connection. A hello while a channel is open
 *   replaces it (the firmware opens a new one after its own 120 s timeout, without goodbye).
 * - goodbye from the device closes the channel without an answer; when the gateway ends one
 *   (idle, replaced, shutting down) it sends `{"type":"goodbye","session_id"}` and the device
 *   closes its UDP side. A message for a channel the gateway does not have (after a restart)
 *   is answered with goodbye, so the device opens a new one.
 * - 120 s with nothing from the device (no MQTT message, no accepted datagram) ends the channel,
 *   as the firmware does after 120 s without anything from the server.
 * - One order for both paths: a datagram waits while a JSON message sent before it is still on
 *   its way to the socket, and a JSON message waits for datagrams held before it. So `tts start`
 *   leaves before the reply's first datagram and `tts stop` after its last, as on one WebSocket.
 */
import { XiaozhiDeviceHello } from '../../../protocol/xiaozhi/index.ts';
import type { Logger } from '../../logger.ts';
import { LogOnce } from '../../session/log-once.ts';
import type { DirectClient, DirectConnection } from '../../transport/direct-login.ts';
import type { XiaozhiChannel, XiaozhiPort } from '../xiaozhi-session.ts';
import type { UdpAudioServer, UdpAudioSession } from './udp-audio-server.ts';
import { xiaozhiDownTopic, xiaozhiPublishTopic, xiaozhiUsername } from './mqtt-credentials.ts';

/** Reply packets held behind pending JSON; more means the connection is stalled, and the oldest go. */
const MAX_HELD_AUDIO = 64;

type Outgoing = { kind: 'json'; text: string } | { kind: 'audio'; channel: AudioChannel; packet: Uint8Array };

export interface XiaozhiMqttClientDeps {
  deviceId: string;
  udp: UdpAudioServer;
  /** `udp.server` of the hello: the public host when configured, else the address the device reached the broker at. */
  publicHost: string | undefined;
  /** Whether the credentials it logged in with are still the device's (checked at each hello). */
  stillAuthorized(): boolean;
  /** Opens the adapter (xiaozhi-session.ts) on a channel. */
  open(channel: XiaozhiChannel): XiaozhiPort;
  idleCloseMs: number;
  logger: Logger;
  /** Told when the connection ends (the service's bookkeeping). */
  onGone?(): void;
}

interface AudioChannel {
  port?: XiaozhiPort;
  udp: UdpAudioSession;
  sessionId?: string;
  deviceSaidGoodbye: boolean;
  ended: boolean;
  silence?: NodeJS.Timeout;
}

export class XiaozhiMqttClient implements DirectClient {
  readonly name: string;
  readonly publishTopic: string;
  private readonly downTopic: string;
  private readonly log: Logger;
  private readonly once = new LogOnce();
  private connection: DirectConnection | undefined;
  private gone = false;
  private channel: AudioChannel | undefined;
  /** JSON messages handed to the broker and not yet on the socket. */
  private pendingWrites = 0;
  /** What waits for them, in the order it was sent. */
  private outbox: Outgoing[] = [];
  private heldAudio = 0;
  private whenWritten: Array<() => void> = [];

  constructor(private readonly deps: XiaozhiMqttClientDeps) {
    this.name = xiaozhiUsername(deps.deviceId);
    this.publishTopic = xiaozhiPublishTopic(deps.deviceId);
    this.downTopic = xiaozhiDownTopic(deps.deviceId);
    this.log = deps.logger.child({ device: deps.deviceId, transport: 'xiaozhi-mqtt' });
  }

  get hasChannel(): boolean {
    return this.channel !== undefined;
  }

  // ---- DirectClient ---------------------------------------------------------------

  connected(connection: DirectConnection): void {
    if (this.gone) return;
    this.connection = connection;
    this.log.info({ remote: connection.remoteAddress }, 'xiaozhi mqtt connected');
  }

  received(payload: Buffer): void {
    if (this.gone || !this.connection) return;
    const text = payload.toString('utf8');
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = undefined;
    }
    const fields = typeof value === 'object' && value !== null ? (value as { type?: unknown; session_id?: unknown }) : {};
    if (fields.type === 'hello') return this.hello(text, value);
    const channel = this.channel;
    if (!channel?.port) return this.noChannel(fields.type, fields.session_id);
    this.heard(channel);
    if (fields.type === 'goodbye') channel.deviceSaidGoodbye = true;
    channel.port.receiveText(text);
    if (fields.type === 'goodbye') this.end(channel, 'goodbye from the device', false);
  }

  disconnected(reason: string): void {
    if (this.gone) return;
    this.gone = true;
    if (this.channel) this.end(this.channel, `mqtt connection ended: ${reason}`, false);
    this.log.info({ reason }, 'xiaozhi mqtt disconnected');
    this.deps.onGone?.();
  }

  /**
   * Ends the audio channel with its goodbye (gateway stopping) and resolves once that is on the
   * socket, or after `timeoutMs`; the broker closes the connection itself.
   */
  async close(reason: string, timeoutMs = 1_000): Promise<void> {
    if (this.channel) this.end(this.channel, reason, true);
    if (this.pendingWrites === 0 && this.outbox.length === 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.whenWritten.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  // ---- channel ----------------------------------------------------------------------

  private hello(text: string, value: unknown): void {
    const parsed = XiaozhiDeviceHello.safeParse(value);
    if (!parsed.success || parsed.data.version !== 3 || parsed.data.transport !== 'udp') {
      const got = parsed.success ? `version ${parsed.data.version}, transport ${parsed.data.transport}` : parsed.error.issues[0]?.message;
      if (this.once.first('bad-hello')) this.log.warn({ got }, 'xiaozhi mqtt hello refused: MQTT + UDP needs version 3 and transport "udp" (logged once)');
      this.push({ type: 'error', code: 'bad_message', message: `hello: MQTT + UDP needs "version":3 and "transport":"udp" (got ${got})` });
      return;
    }
    if (!this.deps.stillAuthorized()) {
      this.log.warn('xiaozhi mqtt hello refused: the credentials it connected with are no longer valid (removed, or a new token); disconnecting');
      this.connection?.close();
      return;
    }
    // The device dropped its previous channel by asking for a new one.
    if (this.channel) this.end(this.channel, 'replaced by a new hello', false);

    const udp = this.deps.udp.open({
      deviceId: this.deps.deviceId,
      frameMs: parsed.data.audio_params.frame_duration,
      onAudio: (packet) => {
        if (channel.ended || !channel.port) return;
        this.heard(channel);
        channel.port.receiveAudio(packet);
      },
      logger: this.log,
    });
    const channel: AudioChannel = { udp, deviceSaidGoodbye: false, ended: false };
    this.channel = channel;
    const server = this.deps.publicHost ?? this.connection?.localAddress ?? '127.0.0.1';
    const xiaozhiChannel: XiaozhiChannel = {
      deviceId: this.deps.deviceId,
      transport: 'mqtt',
      sendJson: (message) => {
        if (!channel.ended) this.push(message);
      },
      sendAudio: (packet) => this.sendAudio(channel, packet),
      close: (reason) => this.end(channel, reason, true),
      helloFields: (sessionId) => {
        channel.sessionId = sessionId;
        return { transport: 'udp', udp: { server, port: this.deps.udp.port, key: udp.key, nonce: udp.nonce, encryption: 'aes-128-ctr' } };
      },
    };
    try {
      channel.port = this.deps.open(xiaozhiChannel);
    } catch (err) {
      this.log.error({ err }, 'could not open a session');
      this.end(channel, 'internal error', false);
      return;
    }
    this.heard(channel);
    this.log.info({ ssrc: udp.ssrc, udpServer: `${server}:${this.deps.udp.port}` }, 'xiaozhi audio channel opening');
    channel.port.receiveText(text);
  }

  /** A message with no channel open: the device thinks one is open (gateway restarted, or ours timed out). */
  private noChannel(type: unknown, sessionId: unknown): void {
    if (type === 'goodbye') return;
    if (typeof sessionId === 'string' && sessionId !== '') {
      if (this.once.first('stale-channel')) this.log.info({ type }, 'message for an audio channel the gateway does not have: goodbye sent, the device opens a new one (logged once)');
      this.push({ type: 'goodbye', session_id: sessionId });
      return;
    }
    if (this.once.first('before-hello')) this.log.warn({ type }, 'xiaozhi mqtt message before hello ignored (logged once)');
  }

  private end(channel: AudioChannel, reason: string, sayGoodbye: boolean): void {
    if (channel.ended) return;
    channel.ended = true;
    if (this.channel === channel) this.channel = undefined;
    clearTimeout(channel.silence);
    channel.udp.close();
    if (sayGoodbye && !channel.deviceSaidGoodbye && channel.sessionId !== undefined) this.push({ type: 'goodbye', session_id: channel.sessionId });
    this.log.info({ reason, udp: { ...channel.udp.stats } }, 'xiaozhi audio channel closed');
    try {
      channel.port?.disconnected(reason);
    } catch (err) {
      this.log.error({ err }, 'session failed on disconnect');
    }
  }

  /** Something came from the device: its channel is alive for another idleCloseMs (one timer per channel, restarted per packet). */
  private heard(channel: AudioChannel): void {
    if (channel.ended) return; // refresh() would bring a cleared timer back
    if (channel.silence) {
      channel.silence.refresh();
      return;
    }
    channel.silence = setTimeout(() => this.end(channel, `nothing from the device for ${this.deps.idleCloseMs} ms`, true), this.deps.idleCloseMs);
    channel.silence.unref?.();
  }

  private push(message: Record<string, unknown>): void {
    if (!this.connection || this.gone) return;
    this.outbox.push({ kind: 'json', text: JSON.stringify(message) });
    this.drain();
  }

  private sendAudio(channel: AudioChannel, packet: Uint8Array): void {
    if (channel.ended) return;
    if (this.pendingWrites === 0 && this.outbox.length === 0) {
      channel.udp.send(packet);
      return;
    }
    this.outbox.push({ kind: 'audio', channel, packet });
    if (++this.heldAudio > MAX_HELD_AUDIO) {
      const oldest = this.outbox.findIndex((item) => item.kind === 'audio');
      this.outbox.splice(oldest, 1);
      this.heldAudio--;
      if (this.once.first('held-audio')) this.log.warn('reply audio dropped: the mqtt connection is not taking control messages (logged once)');
    }
  }

  /** Sends what may go: JSON at once (the broker keeps its order), a datagram once every JSON message before it is written. */
  private drain(): void {
    const connection = this.connection;
    while (this.outbox.length > 0) {
      const item = this.outbox[0]!;
      if (item.kind === 'audio') {
        if (this.pendingWrites > 0) return;
        this.outbox.shift();
        this.heldAudio--;
        if (!item.channel.ended) item.channel.udp.send(item.packet);
        continue;
      }
      this.outbox.shift();
      if (!connection || this.gone) continue;
      this.pendingWrites++;
      connection.push(this.downTopic, item.text, () => {
        this.pendingWrites--;
        if (this.pendingWrites > 0) return;
        this.drain();
        if (this.pendingWrites === 0 && this.outbox.length === 0) for (const resolve of this.whenWritten.splice(0)) resolve();
      });
    }
  }
}
