/**
 * Who the load generator's devices are, when given: `id:token` pairs on the command line or
 * in a file (one pair a line, `#` comments). load-register.ts registers them instead.
 */
import { readFileSync } from 'node:fs';
import { isValidDeviceId } from '../protocol/index.ts';

export interface DeviceCredentials {
  id: string;
  token: string;
}

/** `id:token` (the token may itself contain ':'). */
export function parseCredential(text: string): DeviceCredentials {
  const at = text.indexOf(':');
  const id = at < 0 ? text : text.slice(0, at);
  const token = at < 0 ? '' : text.slice(at + 1);
  if (!isValidDeviceId(id)) throw new Error(`invalid device id ${JSON.stringify(id)} in ${JSON.stringify(text)} (expected id:token)`);
  if (token === '') throw new Error(`no token for device ${id} (expected id:token)`);
  return { id, token };
}

/** One `id:token` a line; blank lines and lines starting with # are skipped. */
export function parseCredentialsFile(text: string): DeviceCredentials[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map(parseCredential);
}

export function readCredentialsFile(file: string): DeviceCredentials[] {
  return parseCredentialsFile(readFileSync(file, 'utf8'));
}
