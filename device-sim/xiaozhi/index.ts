/** The simulated stock xiaozhi-esp32 device (docs/xiaozhi.md): library for tests, benches and `voxgate-sim --protocol xiaozhi`. */
export { XiaozhiSimDevice, XIAOZHI_DECODE_QUEUE_FRAMES, XIAOZHI_MIC_FRAME_MS, type XiaozhiSimEvents, type XiaozhiSimOptions, type XiaozhiTalkOptions } from './xiaozhi-device.ts';
export { defaultSimTools, SimMcpServer, type SimDeviceState, type SimMcpCall, type SimTool } from './mcp-server.ts';
export { activate, bootstrap, checkVersion, OtaError, type BootstrapResult, type MqttCredentials, type OtaAnswer, type WebSocketCredentials } from './ota-client.ts';
export { clientIdFor, firmwareHeaders, simulatedMac, systemInfo, SIM_FIRMWARE_VERSION, type FirmwareIdentity } from './firmware-identity.ts';
export { connectXiaozhiMqtt, type XiaozhiMqttChannel, type UdpChannelStats } from './mqtt-channel.ts';
export type { XiaozhiTransport } from './open-channel.ts';
