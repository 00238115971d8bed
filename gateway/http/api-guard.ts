/**
 * The front door of every API route: who is calling (API key, or a device where allowed),
 * then that caller's rate limit, before any body is read. Also the request's abort
 * signal: it fires when the client goes away, so engines stop working for nobody.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApiKeyRecord } from '../store/index.ts';
import { RateLimiter } from './rate-limiter.ts';
import { requireApiKey, requireApiKeyOrDevice, type ApiKeyVerifier, type Caller, type DeviceVerifier } from './request-auth.ts';

export interface ApiGuard {
  /** An API key, rate limited. */
  apiKey(req: IncomingMessage): ApiKeyRecord;
  /** An API key or a device's own credentials, rate limited. */
  apiKeyOrDevice(req: IncomingMessage): Caller;
}

export function createApiGuard(keys: ApiKeyVerifier, devices: DeviceVerifier, perMinute: number): ApiGuard {
  const limiter = new RateLimiter(perMinute);
  return {
    apiKey(req) {
      const key = requireApiKey(req, keys);
      limiter.take(`key:${key.id}`);
      return key;
    },
    apiKeyOrDevice(req) {
      const caller = requireApiKeyOrDevice(req, keys, devices);
      limiter.take(caller.kind === 'apikey' ? `key:${caller.key.id}` : `device:${caller.deviceId}`);
      return caller;
    },
  };
}

/** Aborts when the response is closed before it finished (the client disconnected). */
export function requestSignal(res: ServerResponse): AbortSignal {
  const controller = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) controller.abort();
  });
  return controller.signal;
}
