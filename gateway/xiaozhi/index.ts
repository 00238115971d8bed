/**
 * Stock xiaozhi-esp32 firmware, unchanged (docs/xiaozhi.md): the OTA bootstrap and pairing
 * on the HTTP port, and its WebSocket; each device's session is voxgate's own DeviceSession
 * behind the adapter of xiaozhi-session.ts. MQTT + UDP (mqtt-udp/) is started beside it and
 * hands this its OTA offer; without one the answer carries the WebSocket.
 */
import type { HttpServer } from '../http/http-server.ts';
import type { Logger } from '../logger.ts';
import type { SessionOpener } from '../session/link.ts';
import type { Store } from '../store/index.ts';
import { websocketOffer, type TransportOffer } from './ota-answer.ts';
import { ACTIVATE_PATHS, OTA_PATHS, registerOtaRoutes } from './ota-route.ts';
import { attachXiaozhiWebSocket, XIAOZHI_WEBSOCKET_PATHS } from './websocket-endpoint.ts';
import type { XiaozhiConfig } from './xiaozhi-config.ts';
import { openXiaozhiSession, xiaozhiSessionDeps } from './xiaozhi-session.ts';

export { XIAOZHI_ENV_VARS, XiaozhiSchema, type XiaozhiConfig } from './xiaozhi-config.ts';
export { openXiaozhiSession, type XiaozhiChannel, type XiaozhiPort, type XiaozhiSessionDeps } from './xiaozhi-session.ts';
export { websocketOffer, type TransportGrant, type TransportOffer } from './ota-answer.ts';
export { XIAOZHI_WEBSOCKET_PATHS, OTA_PATHS, ACTIVATE_PATHS };
export { startXiaozhiMqttUdp, type XiaozhiMqttUdp, type XiaozhiMqttUdpDeps } from './mqtt-udp/index.ts';

export interface XiaozhiDeps {
  http: HttpServer;
  store: Pick<Store, 'devices' | 'pairing'>;
  config: XiaozhiConfig;
  /** The gateway's IANA zone (the device's clock is set to it). */
  timeZone: string;
  openSession: SessionOpener;
  /** WebSocket limits shared with the device transport (config `transport`). */
  websocket: { maxMessageBytes: number; heartbeatIntervalMs: number; closeGraceMs: number };
  logger: Logger;
  /** Replaces the OTA answer's transport block (MQTT + UDP: startXiaozhiMqttUdp); default: the WebSocket. */
  transportOffer?: TransportOffer;
}

export interface XiaozhiService {
  readonly connectionCount: number;
  close(): Promise<void>;
}

export function startXiaozhi(deps: XiaozhiDeps): XiaozhiService {
  const logger = deps.logger.child({ component: 'xiaozhi' });
  const { config } = deps;
  registerOtaRoutes(deps.http, {
    devices: deps.store.devices,
    pairing: deps.store.pairing,
    config,
    timeZone: deps.timeZone,
    transportOffer: deps.transportOffer ?? websocketOffer(config.websocketVersion),
    logger,
  });
  const sessionDeps = xiaozhiSessionDeps(config, deps.openSession, logger);
  const endpoint = attachXiaozhiWebSocket({
    server: deps.http.server,
    deviceIdForMac: (mac) => deps.store.devices.getByMac(mac)?.id,
    authenticate: (deviceId, token) => deps.store.devices.verify(deviceId, token),
    open: (channel) => openXiaozhiSession(channel, sessionDeps),
    logger,
    ...deps.websocket,
  });
  return {
    get connectionCount() {
      return endpoint.connectionCount;
    },
    close: () => endpoint.close(),
  };
}
