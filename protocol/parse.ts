/**
 * Turning one received text frame into a validated message. Unknown message types are
 * reported as `ignored` (a peer must ignore types it does not know, docs/protocol.md §0);
 * anything else that does not validate is `bad_message`.
 */
import type { z } from 'zod';
import {
  DEVICE_MESSAGE_SCHEMAS,
  GATEWAY_MESSAGE_SCHEMAS,
  type DeviceMessage,
  type GatewayMessage,
} from './messages.ts';

/** Control messages are small; anything bigger is refused before JSON parsing. */
export const MAX_CONTROL_MESSAGE_BYTES = 16 * 1024;

export type ParseResult<M> =
  | { kind: 'message'; message: M }
  | { kind: 'ignored'; type: string }
  | { kind: 'invalid'; reason: string };

function parseWith<M>(text: string, schemas: Record<string, z.ZodType>): ParseResult<M> {
  if (Buffer.byteLength(text) > MAX_CONTROL_MESSAGE_BYTES) {
    return { kind: 'invalid', reason: `control message over ${MAX_CONTROL_MESSAGE_BYTES} bytes` };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { kind: 'invalid', reason: 'not valid JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { kind: 'invalid', reason: 'a message must be a JSON object' };
  }
  const type = (value as { type?: unknown }).type;
  if (typeof type !== 'string') return { kind: 'invalid', reason: 'missing "type"' };
  const schema = Object.hasOwn(schemas, type) ? schemas[type] : undefined;
  if (!schema) return { kind: 'ignored', type };
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue?.path.length ? issue.path.join('.') : type;
    return { kind: 'invalid', reason: `${type}: ${where}: ${issue?.message ?? 'invalid'}` };
  }
  return { kind: 'message', message: result.data as M };
}

/** What the gateway does with every text frame / control publish from a device. */
export function parseDeviceMessage(text: string): ParseResult<DeviceMessage> {
  return parseWith<DeviceMessage>(text, DEVICE_MESSAGE_SCHEMAS);
}

/** What the simulator (and tests) do with every message from the gateway. */
export function parseGatewayMessage(text: string): ParseResult<GatewayMessage> {
  return parseWith<GatewayMessage>(text, GATEWAY_MESSAGE_SCHEMAS);
}
