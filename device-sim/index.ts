/** The device simulator as a library: end-to-end tests and the load generator import from here. */
export { SimDevice, type SimDeviceEvents } from './sim-device.ts';
export type { SimDeviceOptions, TalkOptions } from './sim-device-options.ts';
export {
  summarizeTurn,
  type ProtocolIssue,
  type ProtocolIssueKind,
  type ReplyAudio,
  type TurnKind,
  type TurnResult,
  type TurnStopReason,
  type TurnSummary,
  type TurnTimings,
} from './turn-result.ts';
export * from './timeouts.ts';
export {
  ConnectError,
  type ConnectFailure,
  type ConnectOptions,
  type ConnectionHandlers,
  type DeviceConnection,
  type ReplyFrameHeader,
  type SimTransport,
} from './connection.ts';
export { connectWebSocket, deviceWebSocketUrl, DEVICE_WS_PATH } from './ws-connection.ts';
export { connectMqtt, LOST_WILL, MQTT_KEEPALIVE_S } from './mqtt-connection.ts';
export { parseWav, downmix, encodeWavPcm16 as encodeWav, type DecodedWav } from '../audio/wav.ts';
export { readMicWav, writeWav } from './wav.ts';
export { resample } from '../audio/resampler.ts';
export {
  float32ToInt16 as floatToPcm16,
  int16ToFloat32 as pcm16ToFloat,
  int16ToPcm16Bytes as pcm16ToBytes,
  pcm16BytesToInt16 as bytesToPcm16,
} from '../audio/pcm16.ts';
export { OpusCodec, type OpusSampleRate as OpusRate } from '../audio/opus.ts';
export {
  assertMicParams,
  createMicEncoder,
  encodeMic,
  micFrameCount,
  micFrameSamples,
  MIC_OPUS_BITRATE,
  splitFrames,
  type EncodedMic,
  type MicCodec,
  type MicEncoder,
} from './audio-encoder.ts';
export { AudioAccumulator, createReplyDecoder, type ReplyDecoder } from './audio-decoder.ts';
export { paceFrames, type PaceOptions } from './pacer.ts';
export { runLoad, seededRandom, type LoadOptions, type LoadProgress } from './load.ts';
export { loadRecordings, DEFAULT_LOAD_AUDIO, type LoadRecording } from './load-recordings.ts';
export { parseCredential, parseCredentialsFile, type DeviceCredentials } from './load-credentials.ts';
export { formatLoadReport, summarizeTurns, type LoadReport, type LoadTurn, type LoadTurnStats, type TimedPartial } from './load-report.ts';
export { formatSummary, summarizeLatencies, type LatencySummary } from './load-summary.ts';
export * from './xiaozhi/index.ts';
