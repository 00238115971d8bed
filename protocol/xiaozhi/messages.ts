/**
 * JSON messages of stock xiaozhi-esp32 firmware's WebSocket (and MQTT) protocol, as its code
 * reads and writes them (main/application.cc OnIncomingJson, protocols/*.cc); docs/xiaozhi.md
 * has the flow. The gateway translates them to and from voxgate's own (they share most of
 * their vocabulary); the simulator checks what the gateway sends against these schemas.
 */
import { z } from 'zod';

const sessionId = z.string().max(128).optional();

// ---- device → server ------------------------------------------------------------

export const XiaozhiAudioParams = z.object({
  format: z.string().min(1).max(32),
  sample_rate: z.number().int().positive(),
  channels: z.number().int().positive().default(1),
  frame_duration: z.number().int().positive().default(60),
});

/** `{"type":"hello","version":1,"features":{"mcp":true},"transport":"websocket","audio_params":{…}}`. */
export const XiaozhiDeviceHello = z.object({
  type: z.literal('hello'),
  /** The binary protocol version (WebSocket) or 3 (MQTT). */
  version: z.number().int().optional(),
  transport: z.string().max(32).optional(),
  features: z.record(z.string(), z.unknown()).optional(),
  audio_params: XiaozhiAudioParams.default({ format: 'opus', sample_rate: 16000, channels: 1, frame_duration: 60 }),
});
export type XiaozhiDeviceHello = z.infer<typeof XiaozhiDeviceHello>;

/** `{"session_id":…,"type":"mcp","payload":{JSON-RPC 2.0}}`, both ways. */
export const XiaozhiMcp = z.object({ type: z.literal('mcp'), session_id: sessionId, payload: z.record(z.string(), z.unknown()) });

export const LISTEN_MODES = ['auto', 'manual', 'realtime'] as const;
export type XiaozhiListenMode = (typeof LISTEN_MODES)[number];

// ---- server → device ------------------------------------------------------------

export const XiaozhiServerHello = z.object({
  type: z.literal('hello'),
  /** `websocket`, or `udp` on MQTT; anything else makes the firmware wait for a hello in vain. */
  transport: z.string(),
  session_id: z.string(),
  audio_params: z.object({ format: z.literal('opus'), sample_rate: z.number().int(), channels: z.literal(1), frame_duration: z.number().int() }),
});
export type XiaozhiServerHello = z.infer<typeof XiaozhiServerHello>;

export const XiaozhiStt = z.object({ type: z.literal('stt'), session_id: sessionId, text: z.string() });
export const XiaozhiLlm = z.object({ type: z.literal('llm'), session_id: sessionId, emotion: z.string(), text: z.string().optional() });
export const XiaozhiTts = z.discriminatedUnion('state', [
  z.object({ type: z.literal('tts'), session_id: sessionId, state: z.literal('start') }),
  z.object({ type: z.literal('tts'), session_id: sessionId, state: z.literal('sentence_start'), text: z.string() }),
  z.object({ type: z.literal('tts'), session_id: sessionId, state: z.literal('stop') }),
]);
/** All three fields are required, or the firmware ignores it. */
export const XiaozhiAlert = z.object({ type: z.literal('alert'), status: z.string(), message: z.string(), emotion: z.string() });
/** Not a firmware message (it logs "Unknown message type" and carries on): voxgate's error report, for people and the simulator. */
export const XiaozhiError = z.object({ type: z.literal('error'), session_id: sessionId, code: z.string(), message: z.string() });

export const XIAOZHI_SERVER_MESSAGE_SCHEMAS = {
  hello: XiaozhiServerHello,
  stt: XiaozhiStt,
  llm: XiaozhiLlm,
  tts: XiaozhiTts,
  mcp: XiaozhiMcp,
  alert: XiaozhiAlert,
  error: XiaozhiError,
} as const;

export type XiaozhiServerMessage =
  | XiaozhiServerHello
  | z.infer<typeof XiaozhiStt>
  | z.infer<typeof XiaozhiLlm>
  | z.infer<typeof XiaozhiTts>
  | z.infer<typeof XiaozhiMcp>
  | z.infer<typeof XiaozhiAlert>
  | z.infer<typeof XiaozhiError>;

export type XiaozhiParseResult = { kind: 'message'; message: XiaozhiServerMessage } | { kind: 'ignored'; type: string } | { kind: 'invalid'; reason: string };

/** What the simulator does with every text frame from the gateway. */
export function parseXiaozhiServerMessage(text: string): XiaozhiParseResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { kind: 'invalid', reason: 'not valid JSON' };
  }
  const type = (value as { type?: unknown } | null)?.type;
  if (typeof type !== 'string') return { kind: 'invalid', reason: 'missing "type"' };
  const schema = Object.hasOwn(XIAOZHI_SERVER_MESSAGE_SCHEMAS, type) ? XIAOZHI_SERVER_MESSAGE_SCHEMAS[type as keyof typeof XIAOZHI_SERVER_MESSAGE_SCHEMAS] : undefined;
  if (!schema) return { kind: 'ignored', type };
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    return { kind: 'invalid', reason: `${type}: ${issue?.path.join('.') || type}: ${issue?.message ?? 'invalid'}` };
  }
  return { kind: 'message', message: result.data as XiaozhiServerMessage };
}

// ---- MCP (JSON-RPC 2.0 inside `mcp.payload`; the device is the server) -------------

/** The firmware drops requests whose id is not a number (mcp_server.cc ParseMessage). */
export const McpResponse = z.union([
  z.object({ jsonrpc: z.literal('2.0').optional(), id: z.number(), result: z.unknown() }),
  z.object({ jsonrpc: z.literal('2.0').optional(), id: z.number(), error: z.object({ message: z.string().optional(), code: z.number().optional() }).passthrough() }),
]);
export type McpResponse = z.infer<typeof McpResponse>;

export const McpTool = z.object({
  name: z.string().min(1).max(128),
  description: z.string().max(4096).default(''),
  inputSchema: z.record(z.string(), z.unknown()).optional(),
});
export const McpToolsPage = z.object({ tools: z.array(z.unknown()), nextCursor: z.string().optional() });
export const McpCallResult = z.object({
  content: z.array(z.object({ type: z.string(), text: z.string().optional() }).passthrough()).default([]),
  isError: z.boolean().optional(),
});
