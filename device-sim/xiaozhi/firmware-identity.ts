/**
 * Who a simulated stock xiaozhi-esp32 device says it is, byte for byte as the firmware does
 * (78/xiaozhi-esp32 main/ota.cc SetupHttp, boards/common/board.cc GetSystemInfoJson,
 * wifi_board.cc GetBoardJson): the OTA headers and the system-info body.
 */
import { createHash } from 'node:crypto';

/** The firmware version the simulator claims to run (the one its protocol was read from). */
export const SIM_FIRMWARE_VERSION = '2.2.6';
export const SIM_BOARD_NAME = 'voxgate-sim';

export interface FirmwareIdentity {
  /** `aa:bb:cc:dd:ee:ff`, as `Device-Id`. */
  mac: string;
  /** The UUID the firmware generates once and keeps in flash (`Client-Id`). */
  clientId: string;
  board?: string;
  version?: string;
  language?: string;
}

/**
 * A stable Client-Id for a MAC: real firmware keeps its UUID in flash across boots, so a
 * simulator run with the same `--mac` must present the same one (the gateway binds it at pairing).
 */
export function clientIdFor(mac: string): string {
  const hex = createHash('sha256').update(`voxgate-sim:${mac}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** A locally administered unicast MAC (02:…) from a seed, for simulated devices. */
export function simulatedMac(seed: number): string {
  const bytes = [0x02, 0x5a, (seed >>> 24) & 0xff, (seed >>> 16) & 0xff, (seed >>> 8) & 0xff, seed & 0xff];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** The headers of every OTA and activation request. */
export function firmwareHeaders(mac: string, clientId: string, identity: Partial<FirmwareIdentity> = {}): Record<string, string> {
  return {
    'Activation-Version': '1',
    'Device-Id': mac,
    'Client-Id': clientId,
    'User-Agent': `${identity.board ?? SIM_BOARD_NAME}/${identity.version ?? SIM_FIRMWARE_VERSION}`,
    'Accept-Language': identity.language ?? 'en-US',
    'Content-Type': 'application/json',
  };
}

/** The system-info body (Wi-Fi board variant); `minimum_free_heap_size` is a string, as the firmware sends it. */
export function systemInfo(mac: string, clientId: string, identity: Partial<FirmwareIdentity> = {}): Record<string, unknown> {
  const board = identity.board ?? SIM_BOARD_NAME;
  return {
    version: 2,
    language: identity.language ?? 'en-US',
    flash_size: 16_777_216,
    minimum_free_heap_size: '123456',
    mac_address: mac,
    uuid: clientId,
    chip_model_name: 'esp32s3',
    chip_info: { model: 9, cores: 2, revision: 2, features: 18 },
    application: {
      name: 'xiaozhi',
      version: identity.version ?? SIM_FIRMWARE_VERSION,
      compile_time: '2026-08-08T08:33:45Z',
      idf_version: 'v5.5',
      elf_sha256: '0'.repeat(64),
    },
    partition_table: [{ label: 'nvs', type: 1, subtype: 2, address: 36864, size: 16384 }],
    ota: { label: 'ota_0' },
    display: { monochrome: false, width: 240, height: 240 },
    board: { type: board, name: board, ssid: 'lan', rssi: -50, channel: 6, ip: '127.0.0.1', mac },
  };
}
