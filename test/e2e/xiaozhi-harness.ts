/**
 * Stock xiaozhi firmware end to end: the real gateway (E2eGateway, in this process) with the
 * real brain against the loopback fake Groq, the sherpa fixture recognizer, espeak-ng and the
 * real Silero VAD; devices are the simulator's XiaozhiSimDevice, booting through the OTA URL.
 */
import { XiaozhiSimDevice, type XiaozhiSimOptions } from '../../device-sim/xiaozhi/xiaozhi-device.ts';
import type { FakeGroqServer } from '../fakes/fake-groq-server.ts';
import { SILERO_VAD_MODEL } from '../helpers/fixture-paths.ts';
import type { E2eGateway } from './harness.ts';
import { startWithRealBrain } from './real-brain.ts';

/** Config overrides for xiaozhi devices over MQTT + UDP (the UDP port picked free). */
export const MQTT_UDP: Record<string, unknown> = { 'xiaozhi.transport': 'mqtt', 'xiaozhi.udpPort': 0 };

let macCounter = 0;
/** A MAC no other test of this run uses. */
export function uniqueMac(): string {
  macCounter += 1;
  const n = (process.pid * 1000 + macCounter) >>> 0;
  return ['02', 'e2', ...[24, 16, 8, 0].map((shift) => ((n >>> shift) & 0xff).toString(16).padStart(2, '0'))].join(':');
}

export function startXiaozhiGateway(fake: Pick<FakeGroqServer, 'baseUrl'>, overrides: Record<string, unknown> = {}): Promise<E2eGateway> {
  return startWithRealBrain(fake, { overrides: { 'speech.vad.model': SILERO_VAD_MODEL, ...overrides } });
}

export function otaUrl(gw: E2eGateway): string {
  return `http://127.0.0.1:${gw.gateway.httpPort}/xiaozhi/ota/`;
}

const devices = new Set<XiaozhiSimDevice>();

/** A simulated stock device for this gateway; `pair`: claims the code it shows, as a person would (through the store). */
export function xiaozhiDevice(gw: E2eGateway, options: Partial<XiaozhiSimOptions> & { pair?: boolean } = {}): XiaozhiSimDevice {
  const { pair = true, ...rest } = options;
  const device = new XiaozhiSimDevice({ otaUrl: otaUrl(gw), mac: uniqueMac(), activatePollMs: 100, ...rest });
  if (pair) device.on('activation', (code) => gw.gateway.store.pairing.claim(code));
  devices.add(device);
  return device;
}

/** Closes every simulated xiaozhi device (call before the gateways are disposed). */
export async function closeXiaozhiDevices(): Promise<void> {
  await Promise.all([...devices].map((d) => d.close().catch(() => {})));
  devices.clear();
}

/** Retries `assertion` until it passes (or throws its last failure after `timeoutMs`). */
export async function passes(assertion: () => void, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return assertion();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}
