/**
 * Stock xiaozhi firmware over MQTT + UDP (`VOXGATE_XIAOZHI_TRANSPORT=mqtt`, docs/xiaozhi.md):
 * the OTA answer's `mqtt {…}` block, the embedded broker's hook for these logins
 * (transport/direct-login.ts), and the UDP audio socket. Needs the embedded broker: the
 * firmware never subscribes, so only a broker that lets the gateway write onto a client's
 * connection can reach it. With an external broker this says so and offers nothing, and the
 * OTA answer keeps handing out the WebSocket.
 */
import type { Logger } from '../../logger.ts';
import type { SessionOpener } from '../../session/link.ts';
import type { DeviceRegistry } from '../../store/index.ts';
import type { AuthenticateDirect } from '../../transport/direct-login.ts';
import type { TransportOffer } from '../ota-answer.ts';
import type { XiaozhiConfig } from '../xiaozhi-config.ts';
import { openXiaozhiSession, xiaozhiSessionDeps } from '../xiaozhi-session.ts';
import { mqttOffer, readXiaozhiLogin } from './mqtt-credentials.ts';
import { startUdpAudioServer, type UdpAudioServer } from './udp-audio-server.ts';
import { XiaozhiMqttClient } from './xiaozhi-mqtt-client.ts';

export { mqttOffer, readXiaozhiLogin, xiaozhiClientId, xiaozhiPublishTopic, xiaozhiUsername, XIAOZHI_MQTT_KEEPALIVE_S } from './mqtt-credentials.ts';
export { startUdpAudioServer, type UdpAudioServer, type UdpAudioSession, type UdpDropReason } from './udp-audio-server.ts';

export interface XiaozhiMqttUdpDeps {
  config: XiaozhiConfig;
  /** The address the UDP socket binds (the gateway's `host`). */
  host: string;
  /** True when the gateway uses an external broker (`VOXGATE_MQTT_URL`). */
  externalBroker: boolean;
  devices: Pick<DeviceRegistry, 'verify'>;
  openSession: SessionOpener;
  logger: Logger;
}

export interface XiaozhiMqttUdp {
  readonly udpPort: number;
  /** For the embedded broker (`authenticateDirect`). */
  readonly authenticate: AuthenticateDirect;
  /** For the OTA answer (`transportOffer` of startXiaozhi). */
  readonly transportOffer: TransportOffer;
  /** Tells it the embedded broker's bound port (the OTA answer's `endpoint`). */
  brokerListening(port: number): void;
  readonly connectionCount: number;
  /** Closes every audio channel (with goodbye) and the UDP socket. */
  close(): Promise<void>;
}

/** Undefined when the transport is not `mqtt`, or cannot be (external broker: logged). */
export async function startXiaozhiMqttUdp(deps: XiaozhiMqttUdpDeps): Promise<XiaozhiMqttUdp | undefined> {
  const { config } = deps;
  const logger = deps.logger.child({ component: 'xiaozhi' });
  const sessionDeps = xiaozhiSessionDeps(config, deps.openSession, logger);
  if (config.transport !== 'mqtt') return undefined;
  if (deps.externalBroker) {
    logger.warn(
      'VOXGATE_XIAOZHI_TRANSPORT=mqtt needs the embedded broker (the firmware never subscribes, so an external broker cannot deliver to it); VOXGATE_MQTT_URL is set, so xiaozhi devices are given the WebSocket',
    );
    return undefined;
  }
  const udp: UdpAudioServer = await startUdpAudioServer({ host: deps.host, port: config.udpPort, logger });
  const publicHost = config.publicUrl ? new URL(config.publicUrl).hostname : undefined;
  const clients = new Set<XiaozhiMqttClient>();
  let brokerPort: number | undefined;

  const authenticate: AuthenticateDirect = (clientId, username, password) => {
    const login = readXiaozhiLogin(clientId, username);
    if (login.kind === 'other') return null;
    if (login.kind === 'refused') {
      logger.warn({ clientId: clientId.slice(0, 80), username: username.slice(0, 80), reason: login.reason }, 'xiaozhi mqtt connect refused: not authorized');
      return { refused: 5 };
    }
    const { deviceId } = login;
    if (!deps.devices.verify(deviceId, password)) {
      logger.warn({ device: deviceId }, 'xiaozhi mqtt connect refused: bad credentials (a token from an older OTA answer? restart the device)');
      return { refused: 4 };
    }
    const client = new XiaozhiMqttClient({
      deviceId,
      udp,
      publicHost,
      stillAuthorized: () => deps.devices.verify(deviceId, password),
      open: (channel) => openXiaozhiSession(channel, sessionDeps),
      idleCloseMs: config.idleCloseMs,
      logger,
      onGone: () => clients.delete(client),
    });
    clients.add(client);
    return client;
  };

  return {
    udpPort: udp.port,
    authenticate,
    transportOffer: mqttOffer(() => {
      if (brokerPort === undefined) throw new Error('the embedded broker is not listening yet');
      return brokerPort;
    }),
    brokerListening(port) {
      brokerPort = port;
    },
    get connectionCount() {
      return clients.size;
    },
    async close() {
      await Promise.all([...clients].map((client) => client.close('gateway stopping')));
      await udp.close();
    },
  };
}
