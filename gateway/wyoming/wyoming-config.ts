/**
 * The `wyoming` section of the gateway config (config.ts composes it): where the Wyoming
 * server listens, who may connect, how it is advertised and what it lets one request do.
 * Each limit is a named constant with its reason. Pure (zod and node:net only).
 */
import { BlockList, isIP } from 'node:net';
import { z } from 'zod';

/** The port wyoming-faster-whisper and Home Assistant's docs use for speech-to-text. */
export const DEFAULT_WYOMING_PORT = 10300;
/** Transcriptions and syntheses at once; more get `busy` (the HTTP API's own limit is the same), so wearables keep their engines. */
export const MAX_CONCURRENT_WYOMING_JOBS = 4;
/** Open connections at once; Home Assistant opens one per operation and closes it after. */
export const MAX_WYOMING_CONNECTIONS = 32;
/** A voice command is seconds long; this holds a dictation and still bounds memory and recognizer time. */
export const MAX_WYOMING_AUDIO_SECONDS = 120;
/** Text one synthesis may speak (OpenAI's limit for /v1/audio/speech, as the HTTP API). */
export const MAX_WYOMING_TEXT_CHARS = 4096;
/**
 * A connection silent this long is closed. Home Assistant streams audio every few ms and
 * sends an LLM's text deltas as they come; a client that stopped mid-event is gone.
 */
export const WYOMING_IDLE_TIMEOUT_MS = 30_000;

/** `off`/`false`/`no` (any case): no server; a number: the port (0 = any free one). */
const portOrOff = z.preprocess(
  (value) => (typeof value === 'string' && /^(off|false|no|none)$/i.test(value.trim()) ? null : value),
  z.coerce.number().int().min(0).max(65535).nullable(),
);
const flag = z.preprocess((value) => (typeof value === 'string' ? !/^(false|0|no|off)$/i.test(value.trim()) : value), z.boolean());
const positiveInt = z.coerce.number().int().positive();
const splitList = (value: unknown) => (typeof value === 'string' ? value.split(',').map((s) => s.trim()).filter(Boolean) : value);

/** `192.168.1.0/24`, `10.0.0.7`, `fd00::/8`, `::1`: an address alone is a /32 (/128). */
export function parseCidr(entry: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  const [address = '', prefixText, extra] = entry.split('/');
  if (extra !== undefined) return undefined;
  const version = isIP(address);
  if (version === 0) return undefined;
  const max = version === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (!/^\d+$/.test(prefixText ?? String(max)) || prefix > max) return undefined;
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** The allow list as a BlockList (node:net's subnet matcher). */
export function allowListOf(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const cidr = parseCidr(entry);
    if (!cidr) throw new Error(`not an address or CIDR range: ${entry}`);
    list.addSubnet(cidr.address, cidr.prefix, cidr.family);
  }
  return list;
}

export const WyomingSchema = z.object({
  /** TCP port of the Wyoming server, bound to `host`; `off`: no server; 0: any free port. */
  port: portOrOff.default(DEFAULT_WYOMING_PORT),
  /** Advertise `_wyoming._tcp` over mDNS so Home Assistant discovers the server. */
  zeroconf: flag.default(true),
  /** The advertised instance name; unset: `voxgate-<host name>`. */
  zeroconfName: z.string().trim().min(1).max(63).optional(),
  /** Clients allowed to connect (addresses or CIDR ranges); empty: anyone who can reach the port. */
  allow: z
    .preprocess(splitList, z.array(z.string().refine((entry) => parseCidr(entry) !== undefined, 'not an address or CIDR range such as 192.168.1.0/24')))
    .default([]),
  maxJobs: positiveInt.default(MAX_CONCURRENT_WYOMING_JOBS),
  maxConnections: positiveInt.default(MAX_WYOMING_CONNECTIONS),
  maxAudioSeconds: positiveInt.default(MAX_WYOMING_AUDIO_SECONDS),
  maxTextChars: positiveInt.default(MAX_WYOMING_TEXT_CHARS),
  idleTimeoutMs: positiveInt.default(WYOMING_IDLE_TIMEOUT_MS),
  /**
   * Languages the sherpa recognizer's model speaks (Home Assistant offers its STT for these).
   * Every model in voxgate's catalogue is English.
   */
  sttLanguages: z.preprocess(splitList, z.array(z.string().regex(/^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$/, 'a language code such as en or de'))).default(['en']),
});
export type WyomingConfig = z.infer<typeof WyomingSchema>;

/** Environment variable → config path for the wyoming section (merged into ENV_VARS). */
export const WYOMING_ENV_VARS: Record<string, string> = {
  VOXGATE_WYOMING_PORT: 'wyoming.port',
  VOXGATE_WYOMING_ZEROCONF: 'wyoming.zeroconf',
  VOXGATE_WYOMING_NAME: 'wyoming.zeroconfName',
  VOXGATE_WYOMING_ALLOW: 'wyoming.allow',
  VOXGATE_WYOMING_MAX_JOBS: 'wyoming.maxJobs',
  VOXGATE_WYOMING_STT_LANGUAGES: 'wyoming.sttLanguages',
};
