/**
 * A whole gateway (the real composition root) on loopback port 0 with fake engines from
 * test/fakes, a temp data directory, one API key and one registered device.
 */
import { discardLogger } from '../../fakes/capture-logger.ts';
import { startGateway, type RunningGateway } from '../../../gateway/app.ts';
import { loadConfig, type Config } from '../../../gateway/config.ts';
import type { HttpConfig } from '../../../gateway/http/http-config.ts';
import type { SttProvider, TtsProvider } from '../../../gateway/speech/types.ts';
import type { Responder } from '../../../gateway/brain/types.ts';
import { FakeResponder } from '../../fakes/fake-responder.ts';
import { FakeStt } from '../../fakes/fake-stt.ts';
import { FakeTts } from '../../fakes/fake-tts.ts';

export interface TestGatewayOptions {
  http?: Partial<HttpConfig>;
  stt?: SttProvider;
  tts?: TtsProvider;
  responder?: Responder;
}

export interface TestGateway {
  gateway: RunningGateway;
  config: Config;
  baseUrl: string;
  wsUrl: string;
  apiKey: string;
  device: { id: string; token: string };
  stt: SttProvider;
  tts: TtsProvider;
  responder: Responder;
  /** Authorization header for the API key. */
  auth: { authorization: string };
  stop(): Promise<void>;
}

export async function startTestGateway(dataDir: string, options: TestGatewayOptions = {}): Promise<TestGateway> {
  const config = loadConfig({
    env: {},
    overrides: { dataDir, host: '127.0.0.1', httpPort: 0, mqttPort: 0, logLevel: 'silent', 'wyoming.port': 'off', 'speech.autoPull': false },
  });
  config.http = { ...config.http, ...options.http };
  const stt = options.stt ?? new FakeStt();
  const tts = options.tts ?? new FakeTts();
  const responder = options.responder ?? new FakeResponder();
  const gateway = await startGateway(config, { logger: discardLogger(), engines: { stt, tts, responder } });
  const apiKey = gateway.store.apiKeys.create('tests').key;
  const issued = gateway.store.devices.add('console-1', 'Console');
  return {
    gateway,
    config,
    baseUrl: `http://127.0.0.1:${gateway.httpPort}`,
    wsUrl: `ws://127.0.0.1:${gateway.httpPort}`,
    apiKey,
    device: { id: issued.device.id, token: issued.token },
    stt,
    tts,
    responder,
    auth: { authorization: `Bearer ${apiKey}` },
    stop: () => gateway.stop(),
  };
}
