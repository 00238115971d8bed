/**
 * What stock xiaozhi firmware sends to its OTA URL (78/xiaozhi-esp32 main/ota.cc SetupHttp,
 * board.cc GetSystemInfoJson): headers `Device-Id` (its MAC), `Client-Id` (a UUID kept in
 * flash), `User-Agent` (`<board>/<version>`), `Accept-Language`, and the system-info JSON
 * body. Only what voxgate uses is checked; the rest of the body is ignored, as the firmware's
 * own reference servers do. Missing headers or a malformed body are a 400.
 */
import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import { HttpError } from '../http/http-errors.ts';
import { readBody } from '../http/request-body.ts';
import { normalizeMac } from '../store/index.ts';

/** The system-info body is about 1–2 KB (partition table included); far more is not firmware. */
export const MAX_OTA_BODY_BYTES = 64 * 1024;
export const OTA_BODY_TIMEOUT_MS = 10_000;
/** A UUID is 36 characters; anything printable up to 64 is accepted (forks may differ). */
const CLIENT_ID = /^[\x21-\x7e]{1,64}$/;

const text = z.string().max(200);
/** The parts of the body voxgate reads (types checked when present); everything else passes. */
const SystemInfo = z.object({
  language: text.optional(),
  mac_address: text.optional(),
  uuid: text.optional(),
  chip_model_name: text.optional(),
  application: z.object({ name: text.optional(), version: text.optional() }).optional(),
  board: z.object({ type: text.optional(), name: text.optional() }).optional(),
});

export interface OtaRequest {
  /** `aa:bb:cc:dd:ee:ff`. */
  mac: string;
  clientId: string;
  /** The firmware's own version (body `application.version`, else from User-Agent); undefined when not told. */
  firmwareVersion?: string;
  /** Board name for people (body `board.name`/`type`, else User-Agent's first part). */
  board: string;
  language?: string;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === 'string' ? value.trim() : undefined;
}

/** `Device-Id` and `Client-Id`, required on both the OTA and the activation request. */
export function readDeviceHeaders(req: IncomingMessage): { mac: string; clientId: string } {
  const deviceId = header(req, 'device-id');
  if (!deviceId) throw new HttpError('bad_request', 'missing Device-Id header (the device MAC)');
  const mac = normalizeMac(deviceId);
  if (mac === null) throw new HttpError('bad_request', 'Device-Id must be the device MAC, e.g. aa:bb:cc:dd:ee:ff');
  const clientId = header(req, 'client-id');
  if (!clientId) throw new HttpError('bad_request', 'missing Client-Id header');
  if (!CLIENT_ID.test(clientId)) throw new HttpError('bad_request', 'Client-Id must be 1-64 printable characters');
  return { mac, clientId };
}

/** Reads and checks one OTA request (POST with its system-info body, or GET). */
export async function readOtaRequest(req: IncomingMessage): Promise<OtaRequest> {
  const { mac, clientId } = readDeviceHeaders(req);
  const body = req.method === 'POST' ? await readBody(req, { maxBytes: MAX_OTA_BODY_BYTES, timeoutMs: OTA_BODY_TIMEOUT_MS }) : Buffer.alloc(0);
  let info: z.infer<typeof SystemInfo> = {};
  if (body.length > 0) {
    let value: unknown;
    try {
      value = JSON.parse(body.toString('utf8'));
    } catch {
      throw new HttpError('bad_request', 'the body is not valid JSON (expected the system-info object)');
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HttpError('bad_request', 'the body must be a JSON object');
    const parsed = SystemInfo.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new HttpError('bad_request', `system info: ${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}`);
    }
    info = parsed.data;
  }
  // `User-Agent: <BOARD_NAME>/<app version>` (system_info.cc GetUserAgent).
  const [agentBoard, agentVersion] = (header(req, 'user-agent') ?? '').split('/', 2).map((s) => s.trim());
  const language = header(req, 'accept-language') || info.language;
  return {
    mac,
    clientId,
    firmwareVersion: info.application?.version || agentVersion || undefined,
    board: info.board?.name || info.board?.type || agentBoard || info.chip_model_name || 'xiaozhi',
    ...(language ? { language } : {}),
  };
}
