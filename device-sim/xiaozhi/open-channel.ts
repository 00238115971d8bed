/**
 * Opens the transport the OTA answer gave, as the firmware chooses it (application.cc
 * InitializeProtocol: `mqtt` wins over `websocket`): the WebSocket with the version's framing,
 * or MQTT + UDP. `expected` makes a run fail clearly when the gateway offers the other one.
 */
import { isXiaozhiProtocolVersion, type XiaozhiProtocolVersion } from '../../protocol/xiaozhi/index.ts';
import type { SimTimeouts } from '../timeouts.ts';
import type { FirmwareIdentity } from './firmware-identity.ts';
import { connectXiaozhiMqtt } from './mqtt-channel.ts';
import { OtaError, type BootstrapResult } from './ota-client.ts';
import type { XiaozhiChannelHandlers, XiaozhiSimChannel } from './sim-channel.ts';
import { connectXiaozhiWebSocket } from './ws-channel.ts';

export type XiaozhiTransport = 'websocket' | 'mqtt';

/** mqtt_protocol.cc GetHelloMessage: the MQTT hello's version is always 3. */
export const XIAOZHI_MQTT_HELLO_VERSION = 3;

export interface OpenedChannel {
  channel: XiaozhiSimChannel;
  /** WebSocket: the binary framing; MQTT: the hello's version (3). */
  version: XiaozhiProtocolVersion;
}

export async function openXiaozhiChannel(
  boot: BootstrapResult,
  options: { identity: FirmwareIdentity; expected?: XiaozhiTransport; protocolVersion?: XiaozhiProtocolVersion; timeouts: SimTimeouts },
  handlers: XiaozhiChannelHandlers,
): Promise<OpenedChannel> {
  if (options.expected && boot.transport !== options.expected) {
    const hint = options.expected === 'mqtt' ? ' (start the gateway with VOXGATE_XIAOZHI_TRANSPORT=mqtt and its embedded broker)' : '';
    throw new OtaError(`the OTA answer offers ${boot.transport}, not ${options.expected}${hint}`);
  }
  const { connectMs: connectTimeoutMs, closeMs: closeTimeoutMs } = options.timeouts;
  if (boot.transport === 'mqtt') {
    const channel = await connectXiaozhiMqtt({ credentials: boot.mqtt!, connectTimeoutMs, closeTimeoutMs }, handlers);
    return { channel, version: XIAOZHI_MQTT_HELLO_VERSION };
  }
  const ws = boot.websocket!;
  const version = options.protocolVersion ?? (isXiaozhiProtocolVersion(ws.version) ? ws.version : 1);
  const channel = await connectXiaozhiWebSocket(
    { url: ws.url, token: ws.token, version, mac: options.identity.mac, clientId: options.identity.clientId, connectTimeoutMs, closeTimeoutMs },
    handlers,
  );
  return { channel, version };
}
