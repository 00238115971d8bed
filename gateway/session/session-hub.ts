/**
 * All device sessions of the gateway. Transports call `openSession` for each newly
 * authenticated connection; there is one session per device id, so a new connection
 * for a device closes its old one (the device reconnected; the old socket is stale).
 */
import { inlineReplyCodec, type ReplyCodec } from '../audio/reply-codec.ts';
import type { Responder } from '../brain/types.ts';
import type { Logger } from '../logger.ts';
import type { SttProvider, TtsProvider, TurnEndDetectorFactory } from '../speech/types.ts';
import type { TurnRecorder } from '../store/types.ts';
import type { AnnounceResult } from './announcement.ts';
import { DeviceSession } from './device-session.ts';
import { guardEvents, type SessionEvents, type SessionState } from './events.ts';
import type { Limits } from './limits-config.ts';
import type { SessionOpener, TransportName } from './link.ts';
import type { PreemptionSettings } from './preemption-config.ts';
import type { PacerClock } from './reply-pacer.ts';
import { DEFAULT_APOLOGY_TEXT } from './turn-reply.ts';

export interface SessionHubDeps {
  stt: SttProvider;
  tts: TtsProvider;
  /**
   * Turns synthesized sentences into device-ready packets. The gateway passes its codec worker
   * pool; without one (tools, tests) the encoding runs inline on this thread.
   */
  codec?: ReplyCodec;
  responder: Responder;
  recorder: TurnRecorder;
  /** End-of-turn detection for `auto` listen mode; without it `auto` behaves as `manual`. */
  turnEnd?: TurnEndDetectorFactory;
  limits: Limits;
  logger: Logger;
  events?: SessionEvents;
  /** Called when a device connects and at each of its turns' transcripts (e.g. to update `lastSeenAt`). */
  onDeviceSeen?(deviceId: string): void;
  /** Spoken when the language model fails; "" for none. */
  apologyText?: string;
  /** Replaces the wall clock of reply pacing (tests). */
  clock?: PacerClock;
  /** Preemptive generation (config `preemption`); off when absent. */
  preemption?: PreemptionSettings;
}

export interface ConnectedDevice {
  deviceId: string;
  transport: TransportName;
  state: SessionState;
  /** When the current connection opened (epoch ms). */
  since: number;
}

export type { AnnounceResult } from './announcement.ts';

export interface SessionHub {
  openSession: SessionOpener;
  connectedDevices(): ConnectedDevice[];
  /**
   * Makes a connected device speak `text` as a reply-only turn (home automation). Resolves
   * once it has ended; `offline`/`busy` at once when it cannot start (see AnnounceResult).
   */
  announce(deviceId: string, text: string): Promise<AnnounceResult>;
  /** Stops what the device is being told (reply or announcement); false when nothing was. */
  interrupt(deviceId: string): boolean;
  /** Ends the device's session and its connection (removed, or its token rotated); false when it had none. */
  closeDevice(deviceId: string, reason: string): boolean;
  /** Closes every session (gateway shutdown); resolves when their turns are recorded. */
  closeAll(reason?: string): Promise<void>;
}

export function createSessionHub(deps: SessionHubDeps): SessionHub {
  const log = deps.logger.child({ component: 'sessions' });
  const events = guardEvents(deps.events, log);
  const sessions = new Map<string, DeviceSession>();
  const codec = deps.codec ?? inlineReplyCodec();
  const seen = (deviceId: string) => {
    try {
      deps.onDeviceSeen?.(deviceId);
    } catch (err) {
      log.error({ err, device: deviceId }, 'onDeviceSeen failed');
    }
  };
  const sessionEvents: Required<SessionEvents> = {
    ...events,
    transcript: (e) => {
      seen(e.deviceId);
      events.transcript(e);
    },
  };

  return {
    openSession(link) {
      const old = sessions.get(link.deviceId);
      if (old) {
        log.info({ device: link.deviceId, transport: link.transport }, 'device reconnected; closing its previous connection');
        old.close('replaced by a new connection', 'replaced');
      }
      const session = new DeviceSession(
        link,
        {
          stt: deps.stt,
          tts: deps.tts,
          codec,
          responder: deps.responder,
          recorder: deps.recorder,
          turnEnd: deps.turnEnd,
          limits: deps.limits,
          logger: deps.logger,
          events: sessionEvents,
          apologyText: deps.apologyText ?? DEFAULT_APOLOGY_TEXT,
          clock: deps.clock,
          preemption: deps.preemption,
        },
        (closed) => {
          if (sessions.get(closed.deviceId) === closed) sessions.delete(closed.deviceId);
        },
      );
      sessions.set(link.deviceId, session);
      seen(link.deviceId);
      return session;
    },
    announce(deviceId, text) {
      return sessions.get(deviceId)?.announce(text) ?? Promise.resolve('offline');
    },
    interrupt(deviceId) {
      return sessions.get(deviceId)?.interrupt() ?? false;
    },
    closeDevice(deviceId, reason) {
      const session = sessions.get(deviceId);
      if (!session) return false;
      log.info({ device: deviceId, reason }, 'closing the device session');
      session.close(reason, 'shutdown');
      return true;
    },
    connectedDevices() {
      return [...sessions.values()].map((s) => ({ deviceId: s.deviceId, transport: s.transport, state: s.state, since: s.openedAt }));
    },
    async closeAll(reason = 'gateway shutting down') {
      const all = [...sessions.values()];
      for (const s of all) s.close(reason, 'shutdown');
      await Promise.all(all.map((s) => s.settled()));
    },
  };
}
