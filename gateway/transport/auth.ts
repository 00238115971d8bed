/**
 * How transports check a device's credentials (docs/protocol.md §1.1, §1.2). The check itself
 * belongs to the device registry; transports only extract the pair and ask.
 */
import type { IncomingMessage } from 'node:http';
import { isValidDeviceId } from '../../protocol/index.ts';

/** True when `token` is the current token of the known device `deviceId`. Must not throw for unknown ids. */
export type AuthenticateDevice = (deviceId: string, token: string) => boolean;

export interface DeviceCredentials {
  deviceId: string;
  token: string;
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/**
 * docs/protocol.md §1.1: headers `Authorization: Bearer <token>` + `Device-Id`, or (for browsers, which
 * cannot set headers on a WebSocket) query `device_id` + `token`. Headers win when both are present.
 */
export function readWebSocketCredentials(req: IncomingMessage, url: URL): DeviceCredentials | null {
  const authorization = req.headers.authorization;
  const headerId = req.headers['device-id'];
  if (typeof authorization === 'string' && typeof headerId === 'string') {
    const token = BEARER.exec(authorization)?.[1];
    return token ? { deviceId: headerId.trim(), token } : null;
  }
  const deviceId = url.searchParams.get('device_id');
  const token = url.searchParams.get('token');
  return deviceId && token ? { deviceId, token } : null;
}

export type CredentialVerdict = 'ok' | 'bad_credentials' | 'not_authorized' | 'error';

/**
 * Asks `authenticate` safely: ids that cannot be devices (pattern, reserved `gateway`) are
 * refused without asking, and a throwing registry is an `error`, never an accepted device.
 */
export function checkDeviceCredentials(
  authenticate: AuthenticateDevice,
  deviceId: string,
  token: string,
): { verdict: CredentialVerdict; error?: unknown } {
  if (!isValidDeviceId(deviceId)) return { verdict: 'not_authorized' };
  try {
    return { verdict: authenticate(deviceId, token) === true ? 'ok' : 'bad_credentials' };
  } catch (error) {
    return { verdict: 'error', error };
  }
}
