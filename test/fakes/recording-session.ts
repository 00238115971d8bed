/**
 * A SessionOpener for transport tests: records what the transport delivers to each session and,
 * when asked, answers through the link (ping → pong, audio echoed back), so tests can check both
 * directions without the real session. Never used outside test/.
 */
import type { DeviceMessage, ParseResult } from '../../protocol/index.ts';
import type { DeviceLink, DeviceSessionPort, InboundAudio, SessionOpener } from '../../gateway/session/link.ts';

export interface RecordedSession {
  readonly link: DeviceLink;
  readonly controls: ParseResult<DeviceMessage>[];
  readonly audio: InboundAudio[];
  readonly disconnects: string[];
}

export interface RecordingOptions {
  /** Answer `ping` with `pong` and send every audio packet straight back (turn/seq kept). */
  echo?: boolean;
  /** Throw from receiveControl for messages of this type (a buggy session). */
  throwOnType?: string;
}

export class RecordingSessions {
  readonly sessions: RecordedSession[] = [];
  readonly opener: SessionOpener;

  constructor(options: RecordingOptions = {}) {
    this.opener = (link) => {
      const session: RecordedSession = { link, controls: [], audio: [], disconnects: [] };
      this.sessions.push(session);
      const port: DeviceSessionPort = {
        receiveControl(result) {
          session.controls.push(result);
          if (result.kind !== 'message') return;
          if (options.throwOnType === result.message.type) throw new Error(`session fails on ${result.message.type}`);
          if (options.echo && result.message.type === 'ping') link.send({ type: 'pong', id: result.message.id });
        },
        receiveAudio(audio) {
          // Copy: a transport may reuse or slice a larger buffer.
          session.audio.push({ ...audio, packet: Uint8Array.from(audio.packet) });
          if (options.echo) link.sendAudio(audio.packet, audio.turn ?? 0, audio.seq ?? 0);
        },
        disconnected(reason) {
          session.disconnects.push(reason);
        },
      };
      return port;
    };
  }

  forDevice(deviceId: string): RecordedSession[] {
    return this.sessions.filter((s) => s.link.deviceId === deviceId);
  }

  /** Message types a device's sessions received, in order (invalid/ignored shown as `!kind`). */
  controlTypes(deviceId: string): string[] {
    return this.forDevice(deviceId).flatMap((s) => s.controls.map((c) => (c.kind === 'message' ? c.message.type : `!${c.kind}`)));
  }
}
