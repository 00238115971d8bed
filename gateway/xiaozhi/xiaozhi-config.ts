/**
 * The `xiaozhi` section of the gateway config: how stock xiaozhi-esp32 firmware is served
 * (docs/xiaozhi.md). Pure (zod only), composed by config.ts.
 */
import { z } from 'zod';

/**
 * Wake words of the firmware's stock WakeNet models as it reports them in `listen detect`
 * (compared without case, spaces or punctuation). Any other `detect` text is a typed turn.
 */
export const DEFAULT_WAKE_WORDS = ['你好小智', '你好小志', '小爱同学', '小土豆', 'Hi ESP', 'Hi Lexin', 'Hi Jason', 'Hey Willow', 'Alexa', 'Jarvis', 'Sophia'];
/** The firmware counts a channel as closed after 120 s without anything from the server (protocol.cc IsTimeout). */
export const FIRMWARE_CHANNEL_TIMEOUT_MS = 120_000;
/** The audio channel's UDP port (the default; the broker keeps 1883/tcp). */
export const DEFAULT_UDP_PORT = 8884;
/** A device tool (MCP `tools/call`) that has not answered by then is reported to the model as failed. */
export const DEVICE_TOOL_TIMEOUT_MS = 8_000;

const splitList = (value: unknown) => (typeof value === 'string' ? value.split(',').map((s) => s.trim()).filter(Boolean) : value);
const flag = z.preprocess((value) => (typeof value === 'string' ? !/^(false|0|no|off)$/i.test(value.trim()) : value), z.boolean());
const httpUrl = z
  .string()
  .url()
  .refine((url) => /^https?:\/\//i.test(url), 'must start with http:// or https://');

export const XiaozhiSchema = z.object({
  /**
   * Where devices reach the gateway, e.g. `http://voxgate.lan:8080` (behind a proxy: its URL).
   * Unset: the OTA answer points devices at the host they used to reach it.
   */
  publicUrl: httpUrl.optional(),
  /**
   * The transport the OTA answer hands devices: `websocket`, or `mqtt` (MQTT on the embedded
   * broker + encrypted UDP audio; with an external broker devices get the WebSocket instead).
   */
  transport: z.enum(['websocket', 'mqtt']).default('websocket'),
  /** UDP port of the audio channel with `transport: mqtt` (0 picks a free one; the ready line reports it as `udpPort`). */
  udpPort: z.coerce.number().int().min(0).max(65_535).default(DEFAULT_UDP_PORT),
  /** Binary framing the OTA answer asks for (1 raw Opus, 2 and 3 headers); each connection's `Protocol-Version` header decides. */
  websocketVersion: z.coerce.number().int().min(1).max(3).default(1),
  /** Unknown devices get a pairing code; false: only devices added with `voxgate device add --mac` get credentials. */
  pairing: flag.default(true),
  wakeWords: z.preprocess(splitList, z.array(z.string().min(1))).default(DEFAULT_WAKE_WORDS),
  toolTimeoutMs: z.coerce.number().int().positive().default(DEVICE_TOOL_TIMEOUT_MS),
  /** Close a device's socket after this long with nothing sent to it: the firmware has given up on it by then. */
  idleCloseMs: z.coerce.number().int().positive().default(FIRMWARE_CHANNEL_TIMEOUT_MS),
  /** OTA and activation requests per minute from one address (the endpoint needs no credentials). */
  otaRequestsPerMinute: z.coerce.number().int().positive().default(60),
});
export type XiaozhiConfig = z.infer<typeof XiaozhiSchema>;

export const XIAOZHI_ENV_VARS: Record<string, string> = {
  VOXGATE_PUBLIC_URL: 'xiaozhi.publicUrl',
  VOXGATE_XIAOZHI_TRANSPORT: 'xiaozhi.transport',
  VOXGATE_UDP_PORT: 'xiaozhi.udpPort',
  VOXGATE_XIAOZHI_WS_VERSION: 'xiaozhi.websocketVersion',
  VOXGATE_XIAOZHI_PAIRING: 'xiaozhi.pairing',
  VOXGATE_XIAOZHI_WAKE_WORDS: 'xiaozhi.wakeWords',
  VOXGATE_XIAOZHI_TOOL_TIMEOUT_MS: 'xiaozhi.toolTimeoutMs',
};
