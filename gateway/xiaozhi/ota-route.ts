/**
 * The OTA bootstrap of stock xiaozhi firmware (docs/xiaozhi.md): `POST|GET /xiaozhi/ota/`
 * (trailing slash optional) and `POST /xiaozhi/ota/activate`.
 *
 * - A registered device (its MAC, and the Client-Id it was paired with) gets a fresh token
 *   and where to connect; every token it had before stops working.
 * - A pre-registered device (`voxgate device add --mac`) is bound to the Client-Id of its
 *   first request (trust on first use).
 * - Anyone else gets a pairing code (no credentials) to claim with `voxgate device claim`;
 *   `activate` answers 202 until then, 200 after. A device re-flashed with a new Client-Id
 *   pairs again and keeps its id and history.
 *
 * The endpoint needs no credentials (the firmware has none yet), so it is rate limited per
 * address and never reveals a token for a MAC alone.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { HttpError } from '../http/http-errors.ts';
import { sendJson, type HttpServer } from '../http/http-server.ts';
import { RateLimiter } from '../http/rate-limiter.ts';
import type { Logger } from '../logger.ts';
import type { DeviceRegistry, PairingRegistry } from '../store/index.ts';
import { StoreError } from '../store/index.ts';
import { firmwareAnswer, otaBaseUrl, serverTime, type TransportOffer } from './ota-answer.ts';
import { readDeviceHeaders, readOtaRequest, type OtaRequest } from './ota-request.ts';
import type { XiaozhiConfig } from './xiaozhi-config.ts';

export const OTA_PATHS = ['/xiaozhi/ota/', '/xiaozhi/ota'] as const;
export const ACTIVATE_PATHS = ['/xiaozhi/ota/activate', '/xiaozhi/ota/activate/'] as const;

export interface OtaRouteDeps {
  devices: Pick<DeviceRegistry, 'getByMac' | 'rotateToken'>;
  pairing: Pick<PairingRegistry, 'codeFor' | 'activationState' | 'clientIdOf' | 'bindClientId'>;
  config: Pick<XiaozhiConfig, 'publicUrl' | 'pairing' | 'otaRequestsPerMinute'>;
  /** IANA zone of the gateway: the device's clock is set to it. */
  timeZone: string;
  /** The transport block of the answer: `websocket {…}`, or `mqtt {…}` (mqtt-udp/mqtt-credentials.ts). */
  transportOffer: TransportOffer;
  logger: Logger;
  now?: () => number;
}

export function registerOtaRoutes(http: HttpServer, deps: OtaRouteDeps): void {
  const log = deps.logger.child({ component: 'xiaozhi-ota' });
  const now = deps.now ?? Date.now;
  const limiter = new RateLimiter(deps.config.otaRequestsPerMinute);
  const limit = (req: IncomingMessage) => limiter.take(`ota:${req.socket.remoteAddress ?? 'unknown'}`);

  const ota = async (req: IncomingMessage, res: ServerResponse) => {
    limit(req);
    const request = await readOtaRequest(req);
    const base = otaBaseUrl(deps.config.publicUrl, req.headers.host);
    const common = { server_time: serverTime(now(), deps.timeZone), ...firmwareAnswer(request.firmwareVersion) };
    const device = deps.devices.getByMac(request.mac);
    if (device) {
      const bound = deps.pairing.clientIdOf(device.id);
      if (bound === null) {
        deps.pairing.bindClientId(device.id, request.clientId);
        log.info({ device: device.id, mac: request.mac }, 'pre-registered xiaozhi device bound to its Client-Id');
      }
      if (bound === null || bound === request.clientId) {
        const token = deps.devices.rotateToken(device.id);
        log.info({ device: device.id, mac: request.mac, board: request.board, firmware: request.firmwareVersion }, 'xiaozhi device fetched its credentials');
        return sendJson(res, 200, { ...common, ...deps.transportOffer({ deviceId: device.id, mac: request.mac, token }, base) });
      }
      log.warn({ device: device.id, mac: request.mac }, 'known MAC with another Client-Id: it must pair again');
    }
    if (!deps.config.pairing) {
      throw new HttpError('forbidden', `unknown device ${request.mac}: add it with \`voxgate device add <id> --mac ${request.mac}\``);
    }
    return sendJson(res, 200, { ...common, activation: activationFor(request) });
  };

  const activationFor = (request: OtaRequest) => {
    let pending;
    try {
      pending = deps.pairing.codeFor(request.mac, request.clientId, request.board);
    } catch (err) {
      if (err instanceof StoreError && err.code === 'rate_limited') throw new HttpError('rate_limited', err.message, { 'retry-after': '60' });
      throw err;
    }
    log.info({ mac: request.mac, board: request.board, code: pending.code }, 'xiaozhi pairing code issued: claim it with `voxgate device claim <code>`');
    return {
      code: pending.code,
      message: `voxgate device claim ${pending.code}`,
      // The firmware polls /activate only when a challenge is present; the HMAC it may send
      // back needs a factory key voxgate cannot know, so the challenge is only a nonce.
      challenge: randomUUID(),
      timeout_ms: Math.max(0, pending.expiresAt - now()),
    };
  };

  const activate = (req: IncomingMessage, res: ServerResponse) => {
    limit(req);
    req.resume(); // the payload ({} or an HMAC of the challenge) is not needed
    const { mac, clientId } = readDeviceHeaders(req);
    const state = deps.pairing.activationState(mac, clientId);
    if (state === 'activated') return sendJson(res, 200, { status: 'activated' });
    if (state === 'pending') return sendJson(res, 202, { status: 'waiting for `voxgate device claim <code>`' });
    throw new HttpError('not_found', 'no pairing in progress for this device: it will ask for a new code');
  };

  for (const path of OTA_PATHS) {
    http.route('POST', path, ota);
    http.route('GET', path, ota);
  }
  for (const path of ACTIVATE_PATHS) http.route('POST', path, activate);
}
