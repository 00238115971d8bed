/**
 * The boot-time OTA check of stock xiaozhi firmware (main/ota.cc CheckVersion, Activate;
 * application.cc CheckNewVersion), simulated: POST the system info to the OTA URL; when the
 * answer carries `activation`, show the code and POST `<ota>/activate` until it answers 200
 * (202: again after the poll interval), then check again for the credentials.
 */
import { firmwareHeaders, systemInfo, type FirmwareIdentity } from './firmware-identity.ts';

/** The firmware's pause after a 202 from /activate. */
export const ACTIVATE_POLL_MS = 3_000;
/** A pairing code is valid for 10 minutes: waiting longer for a claim is pointless. */
export const PAIR_TIMEOUT_MS = 10 * 60_000;
const REQUEST_TIMEOUT_MS = 10_000;

export interface OtaAnswer {
  activation?: { code?: string; message?: string; challenge?: string; timeout_ms?: number };
  websocket?: { url?: string; token?: string; version?: number };
  mqtt?: Record<string, unknown>;
  server_time?: { timestamp?: number; timezone_offset?: number };
  firmware?: { version?: string; url?: string; force?: number };
}

export interface WebSocketCredentials {
  url: string;
  token: string;
  version: number;
}

export class OtaError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'OtaError';
  }
}

export interface BootstrapOptions {
  otaUrl: string;
  identity: FirmwareIdentity;
  /** Told the pairing code once per code (the firmware shows and speaks it). */
  onActivationCode?(code: string, message: string | undefined): void;
  activatePollMs?: number;
  pairTimeoutMs?: number;
  signal?: AbortSignal;
}

export interface BootstrapResult {
  answer: OtaAnswer;
  websocket: WebSocketCredentials;
  /** The code this boot had to be paired with (undefined: it was already known). */
  pairedWith?: string;
}

/** One OTA request; resolves with the parsed answer of a 200, throws OtaError otherwise (as the firmware counts a failure). */
export async function checkVersion(otaUrl: string, identity: FirmwareIdentity, signal?: AbortSignal): Promise<OtaAnswer> {
  const response = await request(otaUrl, identity, JSON.stringify(systemInfo(identity.mac, identity.clientId, identity)), signal);
  const text = await response.text();
  if (response.status !== 200) throw new OtaError(`OTA check failed with HTTP ${response.status}: ${text.slice(0, 300)}`, response.status);
  try {
    const answer = JSON.parse(text) as unknown;
    if (typeof answer !== 'object' || answer === null || Array.isArray(answer)) throw new Error('not an object');
    return answer as OtaAnswer;
  } catch {
    throw new OtaError(`OTA answer is not a JSON object: ${text.slice(0, 300)}`, response.status);
  }
}

/** `POST <ota>/activate`: 200 activated, 202 waiting, anything else a failure to retry. */
export async function activate(otaUrl: string, identity: FirmwareIdentity, signal?: AbortSignal): Promise<number> {
  const url = otaUrl.endsWith('/') ? `${otaUrl}activate` : `${otaUrl}/activate`;
  const response = await request(url, identity, '{}', signal);
  await response.arrayBuffer();
  return response.status;
}

/** The whole boot: check, pair when asked to, check again; resolves with the WebSocket credentials. */
export async function bootstrap(options: BootstrapOptions): Promise<BootstrapResult> {
  const { otaUrl, identity, signal } = options;
  const pollMs = options.activatePollMs ?? ACTIVATE_POLL_MS;
  const deadline = performance.now() + (options.pairTimeoutMs ?? PAIR_TIMEOUT_MS);
  let shown: string | undefined;
  let pairedWith: string | undefined;
  for (;;) {
    const answer = await checkVersion(otaUrl, identity, signal);
    const activation = answer.activation;
    if (!activation || (activation.code === undefined && activation.challenge === undefined)) {
      const ws = answer.websocket;
      if (!ws || typeof ws.url !== 'string') throw new OtaError('the OTA answer gave no websocket block (only WebSocket is simulated)');
      if (typeof ws.token !== 'string' || typeof ws.version !== 'number') throw new OtaError('the OTA answer must always send websocket.token and websocket.version');
      return { answer, websocket: { url: ws.url, token: ws.token, version: ws.version }, ...(pairedWith ? { pairedWith } : {}) };
    }
    if (activation.code !== undefined && activation.code !== shown) {
      shown = activation.code;
      pairedWith = activation.code;
      options.onActivationCode?.(activation.code, activation.message);
    }
    if (activation.challenge === undefined) throw new OtaError('activation code without a challenge: the firmware would never ask /activate');
    // Poll until claimed (200); the firmware re-checks the version after 10 tries, and so do we.
    for (let i = 0; i < 10; i++) {
      if (performance.now() > deadline) throw new OtaError(`not paired within ${Math.round((options.pairTimeoutMs ?? PAIR_TIMEOUT_MS) / 1000)} s`);
      const status = await activate(otaUrl, identity, signal);
      if (status === 200) break;
      await sleep(status === 202 ? pollMs : Math.max(pollMs, 10_000), signal);
    }
  }
}

function request(url: string, identity: FirmwareIdentity, body: string, signal?: AbortSignal): Promise<Response> {
  const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
  return fetch(url, {
    method: 'POST',
    headers: firmwareHeaders(identity.mac, identity.clientId, identity),
    body,
    signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
  }).catch((err: Error) => {
    throw new OtaError(`cannot reach the OTA URL ${url}: ${(err.cause as Error | undefined)?.message ?? err.message}`);
  });
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new OtaError('stopped'));
    const timer = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener('abort', stop);
      resolve();
    }
    function stop() {
      clearTimeout(timer);
      reject(new OtaError('stopped'));
    }
    signal?.addEventListener('abort', stop, { once: true });
  });
}
