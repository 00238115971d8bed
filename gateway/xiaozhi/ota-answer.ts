/**
 * The pieces of an OTA answer (78/xiaozhi-esp32 main/ota.cc CheckVersion). The firmware
 * copies every string or number of `websocket {…}` / `mqtt {…}` into its flash and keeps old
 * keys the answer leaves out, so `token` and `version` are always sent.
 */
import { HttpError } from '../http/http-errors.ts';

export const XIAOZHI_WEBSOCKET_PATH = '/xiaozhi/v1/';

/** Credentials the OTA answer hands a device that is allowed to connect. */
export interface TransportGrant {
  deviceId: string;
  mac: string;
  /** Fresh, in clear: the answer is the only place it exists. */
  token: string;
}

/** The transport block(s) of the answer for `grant`; `base` is the gateway's HTTP URL as the device sees it. */
export type TransportOffer = (grant: TransportGrant, base: URL) => Record<string, unknown>;

/** `websocket {url, token, version}`: the URL on the host (and port) the device used, or the public URL. */
export function websocketOffer(version: number): TransportOffer {
  return (grant, base) => {
    const url = new URL(XIAOZHI_WEBSOCKET_PATH, base);
    url.protocol = base.protocol === 'https:' ? 'wss:' : 'ws:';
    return { websocket: { url: url.toString(), token: grant.token, version } };
  };
}

/**
 * The gateway's HTTP base as the device sees it: `publicUrl`, else the request's Host.
 * Without either the device could not be told where to connect.
 */
export function otaBaseUrl(publicUrl: string | undefined, host: string | undefined): URL {
  if (publicUrl) return new URL(publicUrl);
  if (!host) throw new HttpError('bad_request', 'no Host header: set VOXGATE_PUBLIC_URL so devices can be told where to connect');
  let url: URL;
  try {
    url = new URL(`http://${host}`);
  } catch {
    throw new HttpError('bad_request', 'the Host header is not a host name');
  }
  if (url.pathname !== '/' || url.username || url.password || url.search) throw new HttpError('bad_request', 'the Host header is not a host name');
  return url;
}

/** `server_time`: epoch ms and the gateway zone's UTC offset in minutes (the firmware adds it). */
export function serverTime(nowMs: number, timeZone: string): { timestamp: number; timezone_offset: number } {
  return { timestamp: nowMs, timezone_offset: utcOffsetMinutes(new Date(nowMs), timeZone) };
}

/** `firmware` echoing the device's own version with no URL: it never upgrades unasked. Omitted when the version is unknown. */
export function firmwareAnswer(version: string | undefined): { firmware?: { version: string; url: string } } {
  return version ? { firmware: { version, url: '' } } : {};
}

/** Minutes east of UTC of `timeZone` at `date` (e.g. 60 for Europe/Paris in winter). */
export function utcOffsetMinutes(date: Date, timeZone: string): number {
  const name = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' }).formatToParts(date).find((p) => p.type === 'timeZoneName')?.value ?? '';
  const match = /GMT([+-])(\d{2}):?(\d{2})?/.exec(name);
  if (!match) return 0; // "GMT" alone
  const minutes = Number(match[2]) * 60 + Number(match[3] ?? 0);
  return match[1] === '-' ? -minutes : minutes;
}
