/**
 * Stock xiaozhi firmware on voxgate's own session machinery: this adapter translates the
 * firmware's messages into voxgate's (they share most of their vocabulary, docs/protocol.md
 * was derived from xiaozhi's) and back, so one DeviceSession serves both kinds of device.
 * It is transport-agnostic: a XiaozhiChannel carries bytes (the WebSocket endpoint today;
 * MQTT + UDP plugs in as another channel).
 *
 * What the translation adds (docs/xiaozhi.md):
 * - hello: the reply is 24 kHz Opus in 60 ms frames; the server hello has xiaozhi's shape
 *   (its transport-specific fields come from the channel); `features.mcp` starts the MCP client.
 * - listen: `auto` means "listening until the gateway speaks" to the firmware, i.e. voxgate's
 *   realtime listening (turns start at speech; the device closes its mic while it plays, and
 *   asks again after `tts stop`); `detect` with a wake word is acknowledged on screen (the user
 *   speaks right after it), any other text is a typed turn.
 * - abort: `tts stop` at once, even with no reply under way; the session sends nothing more of
 *   the aborted turn, and audio goes out only between `tts start` and `tts stop`.
 * - out: partial transcripts are dropped (the firmware shows the latest `stt` as the user's
 *   line); `turn`, `final` and `reason` are stripped; `error` is kept (the firmware logs and
 *   ignores it; people and the simulator read it).
 * - the firmware counts a channel with nothing from the server for 120 s as closed, so an idle
 *   one is closed here too.
 */
import { parseDeviceMessage, type DeviceMessage, type GatewayMessage, type ParseResult } from '../../protocol/index.ts';
import { XiaozhiDeviceHello, XiaozhiMcp } from '../../protocol/xiaozhi/index.ts';
import type { Logger } from '../logger.ts';
import type { DeviceLink, DeviceSessionPort, SessionOpener, TransportName } from '../session/link.ts';
import { LogOnce } from '../session/log-once.ts';
import { DeviceMcpClient } from './mcp-client.ts';
import type { XiaozhiConfig } from './xiaozhi-config.ts';

/** The reply audio stock firmware expects unless told otherwise (protocol.h defaults), and what its decoder is sized for. */
export const XIAOZHI_REPLY_RATE = 24000;
export const XIAOZHI_REPLY_FRAME_MS = 60;
/** The firmware's decode queue holds 40 frames (2.4 s) and drops the rest; stay far below. */
export const XIAOZHI_MAX_LEAD_MS = 600;

/** What carries one xiaozhi device's bytes (WebSocket; MQTT + UDP). */
export interface XiaozhiChannel {
  /** The voxgate device id it authenticated as. */
  readonly deviceId: string;
  readonly transport: TransportName;
  sendJson(message: Record<string, unknown>): void;
  /** One Opus packet of reply audio (the channel frames it). */
  sendAudio(packet: Uint8Array): void;
  close(reason: string): void;
  /** The transport-specific part of the server hello: `{transport:"websocket"}`, or `udp` and its keys on MQTT. */
  helloFields(sessionId: string): Record<string, unknown>;
}

/** What a channel tells the adapter. */
export interface XiaozhiPort {
  receiveText(text: string): void;
  receiveAudio(packet: Uint8Array): void;
  /** A frame the channel could not read (bad binary header): reported to the device once, dropped. */
  receiveInvalid(reason: string): void;
  disconnected(reason: string): void;
}

export interface XiaozhiSessionDeps {
  openSession: SessionOpener;
  wakeWords: readonly string[];
  toolTimeoutMs: number;
  idleCloseMs: number;
  logger: Logger;
}

/** The session's settings from the room's config section (both transports open sessions alike). */
export function xiaozhiSessionDeps(config: Pick<XiaozhiConfig, 'wakeWords' | 'toolTimeoutMs' | 'idleCloseMs'>, openSession: SessionOpener, logger: Logger): XiaozhiSessionDeps {
  return { openSession, wakeWords: config.wakeWords, toolTimeoutMs: config.toolTimeoutMs, idleCloseMs: config.idleCloseMs, logger };
}

/** Wake words compare without case, spaces or punctuation ("Hi, ESP" = "hi esp"). */
export function normalizeWakeWord(text: string): string {
  return text.toLowerCase().replace(/[\s\p{P}\p{S}]+/gu, '');
}

export function openXiaozhiSession(channel: XiaozhiChannel, deps: XiaozhiSessionDeps): XiaozhiPort {
  const log = deps.logger.child({ device: channel.deviceId, protocol: 'xiaozhi' });
  const once = new LogOnce();
  const wakeWords = new Set(deps.wakeWords.map(normalizeWakeWord));
  let sessionId: string | undefined;
  let wantsMcp = false;
  let speaking = false;
  let stopsSent = 0;
  let closed = false;
  let idleTimer: NodeJS.Timeout | undefined;

  const armIdle = () => {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => {
      log.info({ idleMs: deps.idleCloseMs }, 'nothing sent to the device for its channel timeout; closing');
      channel.close('idle');
    }, deps.idleCloseMs);
    idleTimer.unref?.();
  };
  const sendJson = (message: Record<string, unknown>) => {
    if (closed) return;
    channel.sendJson(message);
    armIdle();
  };
  const withSession = (message: Record<string, unknown>) => ({ session_id: sessionId, ...message });

  const mcp = new DeviceMcpClient({
    deviceId: channel.deviceId,
    send: (payload) => sendJson(withSession({ type: 'mcp', payload })),
    toolTimeoutMs: deps.toolTimeoutMs,
    logger: log,
  });

  const link: DeviceLink = {
    deviceId: channel.deviceId,
    transport: channel.transport,
    capabilities: { emotion: true, tools: mcp, maxLeadMs: XIAOZHI_MAX_LEAD_MS },
    send: (message) => translateOut(message),
    sendAudio(packet) {
      if (!speaking || closed) return;
      channel.sendAudio(packet);
      armIdle();
    },
    close: (reason) => channel.close(reason),
  };

  function translateOut(message: GatewayMessage): void {
    switch (message.type) {
      case 'hello':
        sessionId = message.session_id;
        sendJson({ type: 'hello', ...channel.helloFields(message.session_id), session_id: message.session_id, audio_params: message.audio_params });
        if (wantsMcp) mcp.start();
        return;
      case 'stt':
        if (message.final) sendJson({ session_id: message.session_id, type: 'stt', text: message.text });
        return;
      case 'llm':
        return sendJson({ ...message });
      case 'tts':
        if (message.state === 'start') speaking = true;
        if (message.state === 'stop') {
          if (!speaking) return; // already stopped for an abort
          speaking = false;
          stopsSent++;
        }
        return sendJson({ session_id: message.session_id, type: 'tts', state: message.state, ...(message.state === 'sentence_start' ? { text: message.text } : {}) });
      case 'error':
        return sendJson({ ...message });
      case 'pong':
        return; // the firmware never pings
    }
  }

  const port: DeviceSessionPort = deps.openSession(link);

  const forward = (result: ParseResult<DeviceMessage>) => port.receiveControl(result);

  function hello(value: unknown): void {
    const parsed = XiaozhiDeviceHello.safeParse(value);
    if (!parsed.success) return forward({ kind: 'invalid', reason: `hello: ${parsed.error.issues[0]?.path.join('.') || 'hello'}: ${parsed.error.issues[0]?.message}` });
    const device = parsed.data;
    wantsMcp = device.features?.mcp === true;
    log.debug({ version: device.version, transport: device.transport, features: device.features }, 'xiaozhi hello');
    forward({
      kind: 'message',
      message: {
        type: 'hello',
        version: 1,
        transport: channel.transport,
        // No partial transcripts: the firmware would show each as the user's line.
        features: { partial_stt: false },
        audio_params: device.audio_params,
        reply_audio: { format: 'opus', sample_rate: XIAOZHI_REPLY_RATE },
      },
    });
  }

  function abort(result: ParseResult<DeviceMessage>): void {
    const before = stopsSent;
    forward(result);
    // The session sent `tts stop` if a reply was under way; the device needs one in any case
    // (a toggle press while speaking leaves it speaking until told to stop).
    if (stopsSent === before && sessionId !== undefined) {
      speaking = false;
      sendJson({ session_id: sessionId, type: 'tts', state: 'stop' });
    }
  }

  function receiveText(text: string): void {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return forward(parseDeviceMessage(text)); // reports it as the protocol's bad_message
    }
    const type = (value as { type?: unknown } | null)?.type;
    if (type === 'hello') return hello(value);
    if (type === 'mcp') {
      const message = XiaozhiMcp.safeParse(value);
      if (!message.success || sessionId === undefined) {
        if (once.first('mcp')) log.warn({ ready: sessionId !== undefined }, 'mcp message ignored: malformed or before hello (logged once)');
        return;
      }
      return mcp.receive(message.data.payload);
    }
    const result = parseDeviceMessage(text);
    if (result.kind !== 'message') return forward(result);
    const message = result.message;
    if (message.type === 'abort') return abort(result);
    if (message.type === 'listen' && message.state === 'start' && message.mode === 'auto') {
      return forward({ kind: 'message', message: { ...message, mode: 'realtime' } });
    }
    if (message.type === 'listen' && message.state === 'detect' && sessionId !== undefined && wakeWords.has(normalizeWakeWord(message.text))) {
      // The wake word opens the conversation; the device goes on to `listen start` at once.
      log.info({ wakeWord: message.text }, 'wake word');
      sendJson({ session_id: sessionId, type: 'stt', text: message.text });
      sendJson({ session_id: sessionId, type: 'llm', emotion: 'happy' });
      return;
    }
    forward(result);
  }

  return {
    receiveText(text) {
      if (!closed) receiveText(text);
    },
    receiveAudio(packet) {
      // An empty frame carries nothing (a DTX pause may be sent as one); tiny DTX packets decode as silence.
      if (closed || packet.length === 0) return;
      port.receiveAudio({ packet });
    },
    receiveInvalid(reason) {
      if (closed || !once.first(`invalid:${reason.split(' ')[0]}`)) return;
      log.warn({ reason }, 'unreadable frame dropped (logged and reported once per kind)');
      sendJson(withSession({ type: 'error', code: 'unsupported_audio', message: reason }));
    },
    disconnected(reason) {
      if (closed) return;
      closed = true;
      clearTimeout(idleTimer);
      mcp.close();
      port.disconnected(reason);
    },
  };
}
