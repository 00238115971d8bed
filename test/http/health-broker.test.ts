/**
 * /health follows an external broker (issue 11 item 9): a real Mosquitto started here is
 * stopped, and health says `down` with 503; started again, the gateway reconnects and health
 * is back to `ok`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { discardLogger } from '../fakes/capture-logger.ts';
import { startGateway } from '../../gateway/app.ts';
import { loadConfig } from '../../gateway/config.ts';
import { FakeResponder } from '../fakes/fake-responder.ts';
import { FakeStt } from '../fakes/fake-stt.ts';
import { FakeTts } from '../fakes/fake-tts.ts';
import { useTempDirs } from '../helpers/temp-dir.ts';
import { eventually } from '../transport/helpers.ts';
import { startMosquitto, voxgateAcl } from '../transport/mosquitto.ts';

const tempDir = useTempDirs('http-health-broker');
const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

describe('GET /health with an external broker', () => {
  it('says down (503) while the broker is gone, and ok again once it is back', async () => {
    const mosquitto = await startMosquitto({ gateway: 'gateway-secret', observer: 'observer-pw' }, voxgateAcl('gateway', 'observer'));
    cleanup.push(() => mosquitto.stop());
    const config = loadConfig({
      env: {},
      overrides: {
        dataDir: tempDir(),
        host: '127.0.0.1',
        httpPort: 0,
        mqttUrl: mosquitto.url,
        mqttUsername: 'gateway',
        mqttPassword: 'gateway-secret',
        'transport.externalReconnectMs': 200,
        'transport.externalCloseTimeoutMs': 200,
        'wyoming.port': 'off',
      },
    });
    const gateway = await startGateway(config, {
      logger: discardLogger(),
      engines: { stt: new FakeStt(), tts: new FakeTts(), responder: new FakeResponder() },
    });
    cleanup.push(() => gateway.stop());
    const health = async () => {
      const response = await fetch(`http://127.0.0.1:${gateway.httpPort}/health`);
      return { code: response.status, body: (await response.json()) as { status: string; broker: { name: string; ready: boolean } } };
    };

    expect(await health()).toEqual({ code: 200, body: expect.objectContaining({ status: 'ok', broker: { name: 'mqtt:external', ready: true } }) });

    await mosquitto.kill();
    const down = await eventually(async () => {
      const h = await health();
      return h.code === 503 && h;
    }, 'health down after the broker stopped');
    expect(down.body).toMatchObject({ status: 'down', broker: { name: 'mqtt:external', ready: false } });

    await mosquitto.restart();
    const back = await eventually(async () => {
      const h = await health();
      return h.code === 200 && h;
    }, 'health ok after the broker returned', 15_000);
    expect(back.body).toMatchObject({ status: 'ok', broker: { name: 'mqtt:external', ready: true } });
  });
});
