/**
 * Who is calling: an API key (`Authorization: Bearer vxg_…`), a device with its own token
 * (`Device-Id` + `Authorization: Bearer <token>`, only where a route allows it), and whether
 * the peer is this machine (for /metrics). Failures are HttpErrors with WWW-Authenticate.
 */
import type { IncomingMessage } from 'node:http';
import type { ApiKeyRecord } from '../store/index.ts';
import { HttpError } from './http-errors.ts';

export interface ApiKeyVerifier {
  verify(key: string): ApiKeyRecord | undefined;
}

export interface DeviceVerifier {
  verify(deviceId: string, token: string): boolean;
}

export type Caller = { kind: 'apikey'; key: ApiKeyRecord } | { kind: 'device'; deviceId: string };

const CHALLENGE = { 'www-authenticate': 'Bearer realm="voxgate"' };

/** The bearer credential of the request, if it carries one. */
export function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/** Requires a live API key. */
export function requireApiKey(req: IncomingMessage, keys: ApiKeyVerifier): ApiKeyRecord {
  const token = bearerToken(req);
  if (!token) throw new HttpError('unauthorized', 'missing API key: send "Authorization: Bearer <key>" (create one with `voxgate apikey create`)', CHALLENGE);
  const key = keys.verify(token);
  if (!key) throw new HttpError('unauthorized', 'invalid or revoked API key', CHALLENGE);
  return key;
}

/** An API key, or (when the request names a `Device-Id`) that device's own token. */
export function requireApiKeyOrDevice(req: IncomingMessage, keys: ApiKeyVerifier, devices: DeviceVerifier): Caller {
  const deviceId = req.headers['device-id'];
  if (typeof deviceId !== 'string') return { kind: 'apikey', key: requireApiKey(req, keys) };
  const token = bearerToken(req);
  if (!token || !devices.verify(deviceId, token)) throw new HttpError('unauthorized', 'invalid device id or token', CHALLENGE);
  return { kind: 'device', deviceId };
}

/** 127.0.0.0/8 and ::1, also as IPv4-mapped IPv6. */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return v4.startsWith('127.') || address === '::1';
}
