/**
 * Where a device's control message goes once parsed (docs/protocol.md §3): the checks every
 * message passes (known type, valid, hello first, this session's id) and the session
 * action each type calls. Bad input is answered with its protocol error and logged once
 * per kind; unknown types are ignored (newer firmware may send them).
 */
import type {
  AbortMessage,
  ButtonMessage,
  DeviceHello,
  DeviceMessage,
  ErrorCode,
  GoodbyeMessage,
  ListenDetect,
  ListenStart,
  ListenStop,
  ParseResult,
  PingMessage,
  ResetMessage,
  StatusMessage,
} from '../../protocol/index.ts';
import type { Logger } from '../logger.ts';
import type { LogOnce } from './log-once.ts';

/** What the session does for each message (DeviceSession supplies them). */
export interface ControlActions {
  hello(message: DeviceHello): void;
  listenStart(message: ListenStart): void;
  listenStop(message: ListenStop): void;
  /** `listen detect`: a text turn (typed, or a wake word the device recognised). */
  listenDetect(message: ListenDetect): void;
  abort(message: AbortMessage): void;
  reset(message: ResetMessage): void;
  status(message: StatusMessage): void;
  button(message: ButtonMessage): void;
  ping(message: PingMessage): void;
  goodbye(message: GoodbyeMessage): void;
  /** Answers input the session refuses with its protocol error. */
  refuse(code: ErrorCode, message: string): void;
}

export interface ControlState {
  /** Set once a hello was accepted; until then only `hello` is. */
  sessionId: string | undefined;
  log: Logger;
  once: LogOnce;
}

export function dispatchControl(result: ParseResult<DeviceMessage>, state: ControlState, actions: ControlActions): void {
  const { log, once } = state;
  if (result.kind === 'ignored') {
    if (once.first(`ignored:${result.type}`)) log.info({ type: result.type }, 'ignoring unknown message type (logged once)');
    return;
  }
  if (result.kind === 'invalid') {
    if (once.first(`invalid:${result.reason}`)) log.warn({ reason: result.reason }, 'bad message');
    return actions.refuse('bad_message', result.reason);
  }
  const message = result.message;
  if (message.type === 'hello') return actions.hello(message);
  if (state.sessionId === undefined) {
    if (once.first(`not_ready:${message.type}`)) log.warn({ type: message.type }, 'message before hello');
    return actions.refuse('not_ready', `"${message.type}" before hello: hello must be the first message`);
  }
  if (message.session_id !== undefined && message.session_id !== state.sessionId) {
    if (once.first('session_id')) log.warn({ type: message.type }, 'session_id does not match');
    return actions.refuse('bad_message', `session_id "${message.session_id}" is not this session's`);
  }
  switch (message.type) {
    case 'listen':
      if (message.state === 'start') return actions.listenStart(message);
      if (message.state === 'stop') return actions.listenStop(message);
      return actions.listenDetect(message);
    case 'abort':
      return actions.abort(message);
    case 'reset':
      return actions.reset(message);
    case 'status':
      return actions.status(message);
    case 'button':
      return actions.button(message);
    case 'ping':
      return actions.ping(message);
    case 'goodbye':
      return actions.goodbye(message);
  }
}
