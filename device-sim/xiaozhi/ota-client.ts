/**
 * The boot-time OTA check of stock xiaozhi firmware (main/ota.cc CheckVersion, Activate;
 * application.cc CheckNewVersion), simulated: POST the system info to the OTA URL; when the
 * answer carries `activation`, show the code and POST `<ota>/activate` until it answers 200
 * (202: again after the poll interval), then check again for the credentials. As in the
 * firmware (application.cc InitializeProtocol), `mqtt` wins over `websocket` when both come.
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

/** The `mqtt` block as the firmware reads it (mqtt_protocol.cc StartMqttClient). */
export interface MqttCredentials {
  /** `host:port`; a bare host would mean TLS on 8883 to the firmware. */
  endpoint: string;
  client_id: string;
  username: string;
  password: string;
  publish_topic: string;
  /** Seconds (the firmware's default is 240). */
  keepalive: number;
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
  /** The transport the firmware would use: `mqtt` when the answer has it, else `websocket`. */
  transport: 'websocket' | 'mqtt';
  websocket?: WebSocketCredentials;
  mqtt?: MqttCredentials;
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
      const paired = pairedWith ? { pairedWith } : {};
      if (answer.mqtt) return { answer, transport: 'mqtt', mqtt: readMqttBlock(answer.mqtt), ...paired };
      const ws = answer.websocket;
      if (!ws || typeof ws.url !== 'string') throw new OtaError('the OTA answer gave neither an mqtt nor a websocket block');
      if (typeof ws.token !== 'string' || typeof ws.version !== 'number') throw new OtaError('the OTA answer must always send websocket.token and websocket.version');
      return { answer, transport: 'websocket', websocket: { url: ws.url, token: ws.token, version: ws.version }, ...paired };
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

/** Every field the firmware reads, present and typed; the gateway must send them all (the flash keeps old ones). */
function readMqttBlock(block: Record<string, unknown>): MqttCredentials {
  const text = (key: string) => {
    const value = block[key];
    if (typeof value !== 'string' || value === '') throw new OtaError(`the OTA answer's mqtt block has no ${key}`);
    return value;
  };
  const endpoint = text('endpoint');
  // mqtt_protocol.cc: no ":port" means 8883 with TLS (esp_mqtt.cc), which a LAN gateway does not serve.
  if (!/^[^:]+:\d{1,5}$/.test(endpoint)) throw new OtaError(`mqtt.endpoint ${JSON.stringify(endpoint)} is not host:port (the firmware would use TLS on 8883)`);
  if (typeof block.keepalive !== 'number' || !Number.isInteger(block.keepalive) || block.keepalive <= 0) throw new OtaError('the OTA answer must send mqtt.keepalive (seconds)');
  return { endpoint, client_id: text('client_id'), username: text('username'), password: text('password'), publish_topic: text('publish_topic'), keepalive: block.keepalive };
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
