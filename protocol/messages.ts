/**
 * Every JSON message of docs/protocol.md §3, as zod schemas (runtime validation of whatever
 * arrives) and the TypeScript types inferred from them. Unknown fields are ignored
 * (stripped), as the protocol requires of every peer.
 */
import { z } from 'zod';
import { ERROR_CODE_LIST, type ErrorCode } from './errors.ts';

export const PROTOCOL_VERSION = 1;

const uint32 = z.number().int().min(0).max(0xffff_ffff);
const sessionId = z.string().min(1).max(128).optional();

export const AudioFormat = z.enum(['opus', 'pcm16']);
export type AudioFormat = z.infer<typeof AudioFormat>;

/**
 * Audio parameters as a device states them. Values are checked for support separately
 * (see audio.ts) so that a well-formed but unsupported format gets `unsupported_audio`,
 * not `bad_message`.
 */
export const AudioParams = z.object({
  format: z.string().min(1).max(32),
  sample_rate: z.number().int().positive(),
  channels: z.number().int().positive().default(1),
  frame_duration: z.number().int().positive().default(60),
});
export type AudioParams = z.infer<typeof AudioParams>;

export const ReplyAudio = z.object({
  format: z.string().min(1).max(32),
  sample_rate: z.number().int().positive().default(16000),
});
export type ReplyAudio = z.infer<typeof ReplyAudio>;

// ---- device → gateway -------------------------------------------------------

export const HelloFromDevice = z.object({
  type: z.literal('hello'),
  version: z.number().int().positive().default(PROTOCOL_VERSION),
  transport: z.enum(['websocket', 'mqtt']).optional(),
  features: z.record(z.string(), z.unknown()).optional(),
  audio_params: AudioParams.default({ format: 'opus', sample_rate: 16000, channels: 1, frame_duration: 60 }),
  reply_audio: ReplyAudio.optional(),
});

export const Listen = z.discriminatedUnion('state', [
  z.object({
    type: z.literal('listen'),
    session_id: sessionId,
    state: z.literal('start'),
    mode: z.enum(['manual', 'auto', 'realtime']).default('manual'),
    turn: uint32.optional(),
  }),
  z.object({
    type: z.literal('listen'),
    session_id: sessionId,
    state: z.literal('stop'),
    turn: uint32.optional(),
    frames: uint32.optional(),
  }),
  z.object({
    type: z.literal('listen'),
    session_id: sessionId,
    state: z.literal('detect'),
    text: z.string().trim().min(1).max(2000),
  }),
]);

export const Abort = z.object({ type: z.literal('abort'), session_id: sessionId, reason: z.string().max(64).optional() });

export const Status = z.object({
  type: z.literal('status'),
  session_id: sessionId,
  battery: z.number().min(0).max(100).optional(),
  charging: z.boolean().optional(),
  rssi: z.number().min(-150).max(0).optional(),
});

export const BUTTON_EVENTS = ['press', 'double_press', 'long_press'] as const;
export const Button = z.object({ type: z.literal('button'), session_id: sessionId, event: z.enum(BUTTON_EVENTS) });

export const Reset = z.object({ type: z.literal('reset'), session_id: sessionId });

export const Ping = z.object({ type: z.literal('ping'), session_id: sessionId, id: z.union([z.number(), z.string().max(64)]).optional() });

export const Goodbye = z.object({ type: z.literal('goodbye'), session_id: sessionId, reason: z.string().max(64).optional() });

export const DEVICE_MESSAGE_SCHEMAS = {
  hello: HelloFromDevice,
  listen: Listen,
  abort: Abort,
  status: Status,
  button: Button,
  reset: Reset,
  ping: Ping,
  goodbye: Goodbye,
} as const;

export type DeviceMessageType = keyof typeof DEVICE_MESSAGE_SCHEMAS;
export type DeviceHello = z.infer<typeof HelloFromDevice>;
export type ListenMessage = z.infer<typeof Listen>;
export type ListenStart = Extract<ListenMessage, { state: 'start' }>;
export type ListenStop = Extract<ListenMessage, { state: 'stop' }>;
export type ListenDetect = Extract<ListenMessage, { state: 'detect' }>;
export type AbortMessage = z.infer<typeof Abort>;
export type StatusMessage = z.infer<typeof Status>;
export type ButtonMessage = z.infer<typeof Button>;
export type ButtonEvent = ButtonMessage['event'];
export type ResetMessage = z.infer<typeof Reset>;
export type PingMessage = z.infer<typeof Ping>;
export type GoodbyeMessage = z.infer<typeof Goodbye>;
export type DeviceMessage =
  | DeviceHello
  | ListenMessage
  | AbortMessage
  | StatusMessage
  | ButtonMessage
  | ResetMessage
  | PingMessage
  | GoodbyeMessage;

// ---- gateway → device -------------------------------------------------------

export const GatewayAudioParams = z.object({
  format: AudioFormat,
  sample_rate: z.union([z.literal(16000), z.literal(24000)]),
  channels: z.literal(1),
  frame_duration: z.number().int().positive(),
});
export type GatewayAudioParams = z.infer<typeof GatewayAudioParams>;

export const HelloFromGateway = z.object({
  type: z.literal('hello'),
  transport: z.enum(['websocket', 'mqtt']),
  session_id: z.string(),
  version: z.number().int(),
  audio_params: GatewayAudioParams,
});

export const Stt = z.object({
  type: z.literal('stt'),
  session_id: z.string(),
  text: z.string(),
  final: z.boolean(),
  turn: uint32,
});

export const Llm = z.object({
  type: z.literal('llm'),
  session_id: z.string(),
  emotion: z.string(),
  text: z.string().optional(),
});

export const TtsStart = z.object({ type: z.literal('tts'), session_id: z.string(), state: z.literal('start'), turn: uint32 });
export const TtsSentence = z.object({
  type: z.literal('tts'),
  session_id: z.string(),
  state: z.literal('sentence_start'),
  text: z.string(),
  turn: uint32,
});
export const TTS_STOP_REASONS = ['done', 'aborted', 'error'] as const;
export const TtsStop = z.object({
  type: z.literal('tts'),
  session_id: z.string(),
  state: z.literal('stop'),
  turn: uint32,
  reason: z.enum(TTS_STOP_REASONS),
});
export const Tts = z.discriminatedUnion('state', [TtsStart, TtsSentence, TtsStop]);

export const ErrorMessage = z.object({
  type: z.literal('error'),
  session_id: z.string().optional(),
  code: z.enum(ERROR_CODE_LIST as [ErrorCode, ...ErrorCode[]]),
  message: z.string(),
  turn: uint32.optional(),
});

export const Pong = z.object({ type: z.literal('pong'), id: z.union([z.number(), z.string()]).optional() });

export const GATEWAY_MESSAGE_SCHEMAS = {
  hello: HelloFromGateway,
  stt: Stt,
  llm: Llm,
  tts: Tts,
  error: ErrorMessage,
  pong: Pong,
} as const;

export type GatewayHello = z.infer<typeof HelloFromGateway>;
export type SttMessage = z.infer<typeof Stt>;
export type LlmMessage = z.infer<typeof Llm>;
export type TtsMessage = z.infer<typeof Tts>;
export type TtsStopReason = (typeof TTS_STOP_REASONS)[number];
export type ErrorMessage = z.infer<typeof ErrorMessage>;
export type PongMessage = z.infer<typeof Pong>;
export type GatewayMessage = GatewayHello | SttMessage | LlmMessage | TtsMessage | ErrorMessage | PongMessage;
export type GatewayMessageType = keyof typeof GATEWAY_MESSAGE_SCHEMAS;
