/**
 * A device token hashed the way Mosquitto's password file stores passwords, kept next to
 * voxgate's own hash so `voxgate device mosquitto-passwd` can write the broker's accounts from the
 * database at any time (the token itself is never stored).
 *
 * Mosquitto 2 (`mosquitto_passwd`, src/password_mosq.c): `$7$<iterations>$<base64 salt>$<base64 hash>`
 * with PBKDF2-HMAC-SHA512, a 12-byte salt, 101 iterations and a 64-byte result. The same numbers
 * are what mosquitto-go-auth (Home Assistant's Mosquitto add-on) reads as
 * `PBKDF2$sha512$<iterations>$<base64 salt>$<base64 hash>`.
 * 101 iterations are Mosquitto's own default: a token is 256 random bits, so hashing it slowly
 * would protect nothing (see hashToken) and would only slow the broker's logins.
 */
import { pbkdf2Sync, randomBytes } from 'node:crypto';

export const BROKER_HASH_ITERATIONS = 101;
export const BROKER_HASH_SALT_BYTES = 12;
export const BROKER_HASH_BYTES = 64;

export interface BrokerHash {
  iterations: number;
  salt: Buffer;
  hash: Buffer;
}

/** The token in Mosquitto's `$7$` password-file form. */
export function mosquittoPasswordHash(token: string, salt: Buffer = randomBytes(BROKER_HASH_SALT_BYTES)): string {
  const hash = pbkdf2Sync(token, salt, BROKER_HASH_ITERATIONS, BROKER_HASH_BYTES, 'sha512');
  return `$7$${BROKER_HASH_ITERATIONS}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** Reads a `$7$` hash back (undefined for anything else). */
export function parseMosquittoHash(text: string): BrokerHash | undefined {
  const match = /^\$7\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(text);
  if (!match) return undefined;
  const iterations = Number(match[1]);
  const salt = Buffer.from(match[2]!, 'base64');
  const hash = Buffer.from(match[3]!, 'base64');
  if (!Number.isSafeInteger(iterations) || iterations < 1 || salt.length === 0 || hash.length === 0) return undefined;
  return { iterations, salt, hash };
}

/** The same hash as mosquitto-go-auth's PBKDF2 hasher writes it (Home Assistant add-on `password_pre_hashed`). */
export function goAuthPbkdf2Hash(mosquittoHash: string): string | undefined {
  const parsed = parseMosquittoHash(mosquittoHash);
  if (!parsed) return undefined;
  return `PBKDF2$sha512$${parsed.iterations}$${parsed.salt.toString('base64')}$${parsed.hash.toString('base64')}`;
}
