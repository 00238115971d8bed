/**
 * The soak's malformed frames: a registered device that speaks the protocol badly on purpose
 * (test/e2e's RawDevice, one per transport). Each round is a turn littered with bad input —
 * an oversized audio frame, broken JSON, an unknown message type, a message that breaks the
 * schema and, on MQTT, an audio frame with no valid header — after which the gateway must
 * still end the turn (`stt final`) and answer a ping, while the other devices talk on.
 */
import type { SimTransport } from '../../device-sim/index.ts';
import type { DeviceCredentials } from '../../device-sim/load-credentials.ts';
import { createTopics, type GatewayMessage } from '../../protocol/index.ts';
import { openRawDevice, type RawDevice } from '../e2e/raw-device.ts';

const MIC = { format: 'pcm16', sample_rate: 16000, channels: 1, frame_duration: 60 } as const;
/** One 60 ms pcm16 frame of digital silence: a valid frame the recognizer hears nothing in. */
const SILENT_FRAME = new Uint8Array(960 * 2);
/** How long the gateway may take to answer during a round (it is busy with the other devices). */
const ANSWER_TIMEOUT_MS = 20_000;

export interface MalformedRound {
  /** Bad frames sent. */
  sent: number;
  /** The gateway's error messages by code. */
  answered: Record<string, number>;
  /** Set when the gateway did not end the turn or answer the ping: the session is stuck. */
  problem?: string;
}

export class MalformedFrameDevice {
  private raw: RawDevice | undefined;
  private sessionId = '';
  private turn = 0;
  private pingId = 0;

  constructor(
    readonly transport: SimTransport,
    private readonly url: string,
    private readonly credentials: DeviceCredentials,
    private readonly prefix: string,
    private readonly maxAudioFrameBytes: number,
  ) {}

  get id(): string {
    return this.credentials.id;
  }

  async round(): Promise<MalformedRound> {
    const round: MalformedRound = { sent: 0, answered: {} };
    try {
      const raw = await this.connected();
      raw.messages.length = 0;
      const turn = ++this.turn;
      const session_id = this.sessionId;
      let seq = 0;
      await raw.sendJson({ session_id, type: 'listen', state: 'start', mode: 'manual', turn });
      for (let i = 0; i < 3; i++) await raw.sendAudio(SILENT_FRAME, turn, seq++);
      await raw.sendAudio(new Uint8Array(this.maxAudioFrameBytes + 904), turn, seq++);
      await raw.sendText('{"type":"listen","state":');
      await raw.sendJson({ session_id, type: 'teleport', to: 'mars' });
      await raw.sendJson({ session_id, type: 'listen', state: 'sideways', turn });
      round.sent += 4;
      if (raw.mqtt) {
        await raw.mqtt.publishAsync(createTopics(this.prefix).upAudio(this.id), Buffer.from([0xff, 0x01]), { qos: 0 });
        round.sent += 1;
      }
      for (let i = 0; i < 3; i++) await raw.sendAudio(SILENT_FRAME, turn, seq++);
      await raw.sendJson({ session_id, type: 'listen', state: 'stop', turn, frames: seq });
      await raw.waitFor((m) => m.type === 'stt' && m.final && m.turn === turn, ANSWER_TIMEOUT_MS);
      await this.ping(raw);
    } catch (error) {
      round.problem = (error as Error).message.slice(0, 300);
      await this.drop();
    }
    for (const message of this.raw?.messages ?? []) {
      if (message.type === 'error') round.answered[message.code] = (round.answered[message.code] ?? 0) + 1;
    }
    return round;
  }

  /** Whether the session still answers a ping (end of phase). */
  async alive(): Promise<string | undefined> {
    try {
      await this.ping(await this.connected());
      return undefined;
    } catch (error) {
      return (error as Error).message.slice(0, 300);
    }
  }

  /** Says goodbye (its MQTT connection leaves no will) and closes. */
  async close(): Promise<void> {
    const raw = this.raw;
    this.raw = undefined;
    if (!raw) return;
    await raw.sendJson({ session_id: this.sessionId, type: 'goodbye', reason: 'sleep' }).catch(() => {});
    await raw.close();
  }

  private async ping(raw: RawDevice): Promise<void> {
    const id = ++this.pingId;
    await raw.sendJson({ type: 'ping', id });
    await raw.waitFor((m) => m.type === 'pong' && m.id === id, ANSWER_TIMEOUT_MS);
  }

  /** The open connection, or a new one that has said hello (after a broker restart, say). */
  private async connected(): Promise<RawDevice> {
    if (this.raw && (this.raw.mqtt ? this.raw.mqtt.connected : true)) return this.raw;
    await this.drop();
    const raw = await openRawDevice(this.transport, this.url, this.id, this.credentials.token, this.prefix);
    this.raw = raw;
    await raw.sendJson({ type: 'hello', version: 1, transport: this.transport, audio_params: MIC });
    const hello = (await raw.waitFor((m) => m.type === 'hello', ANSWER_TIMEOUT_MS)) as Extract<GatewayMessage, { type: 'hello' }>;
    this.sessionId = hello.session_id;
    return raw;
  }

  private async drop(): Promise<void> {
    const raw = this.raw;
    this.raw = undefined;
    await raw?.close().catch(() => {});
  }
}
