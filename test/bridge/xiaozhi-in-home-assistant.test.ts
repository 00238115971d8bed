/**
 * A stock xiaozhi device is an ordinary wearable to Home Assistant: paired with
 * `voxgate device claim` in another process (here: another store on the same file), it is
 * published by discovery, shows online once its WebSocket session is up, and its transcript
 * reaches Home Assistant like any wearable's.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { XiaozhiSimDevice } from '../../device-sim/xiaozhi/index.ts';
import { openStore } from '../../gateway/store/index.ts';
import { useTempDirs } from '../helpers/temp-dir.ts';
import { checkDeviceDiscovery } from './helpers/ha-discovery-schema.ts';
import { BridgeWorld, closeAll } from './helpers/bridge-world.ts';

const tempDir = useTempDirs('bridge-xiaozhi');
let device: XiaozhiSimDevice | undefined;
afterEach(async () => {
  await device?.close();
  device = undefined;
  await closeAll();
});

describe('stock xiaozhi firmware in Home Assistant', () => {
  it('a device paired by code is discovered, goes online when it connects, and publishes its transcript', async () => {
    const w = await BridgeWorld.start('embedded', tempDir(), { bridge: { registryResyncMs: 100, publishText: true } });
    w.groq.chat.setDefault({ type: 'text', text: 'Okay.' });
    const ha = await w.connectHa();
    await ha.subscribe('homeassistant/device/+/config', 'voxgate/+/availability', 'voxgate-bridge/+/#');
    const mac = '02:b0:00:00:00:01';
    const id = 'xiaozhi-02b000000001';
    device = new XiaozhiSimDevice({ otaUrl: `http://127.0.0.1:${w.gateway.httpPort}/xiaozhi/ota/`, mac, activatePollMs: 100 });
    device.on('activation', (code) => {
      const cli = openStore(w.config.dataDir); // as `voxgate device claim` does, in its own process
      cli.pairing.claim(code, 'Desk bot');
      cli.close();
    });
    await device.connect();

    const config = await ha.waitFor(`homeassistant/device/voxgate_${id}/config`, (r) => r.text.length > 0, 'the discovery config of the paired device');
    const payload = JSON.parse(config.text) as Record<string, any>;
    expect(checkDeviceDiscovery(payload)).toEqual([]);
    expect(payload.dev).toMatchObject({ ids: [`voxgate_${id}`], name: 'Desk bot' });
    await ha.waitFor(`voxgate/${id}/availability`, (r) => r.text === 'online', 'online');

    await device.typed('hello from the desk');
    const transcript = await ha.waitFor(`voxgate-bridge/${id}/transcript`, (r) => r.text.includes('hello from the desk'), 'the transcript');
    expect(transcript.text).toContain('hello from the desk');
  });
});
