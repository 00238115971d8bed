/** A Wyoming server on loopback port 0 (no mDNS) for the room's tests, with fake or given engines. */
import { afterEach } from 'vitest';
import { resample } from '../../audio/resampler.ts';
import type { AttachedEngines, CatalogSource } from '../../gateway/wyoming/wyoming-catalog.ts';
import { WyomingSchema, type WyomingConfig } from '../../gateway/wyoming/wyoming-config.ts';
import { startWyomingServer, type WyomingServer } from '../../gateway/wyoming/wyoming-server.ts';
import { SpeechSchema } from '../../gateway/speech/speech-config.ts';
import { createCaptureLogger, type CapturedLogger } from '../fakes/capture-logger.ts';
import { WyomingClient } from './wyoming-client.ts';

export interface TestWyoming {
  server: WyomingServer;
  port: number;
  log: CapturedLogger;
  connect(): Promise<WyomingClient>;
}

const running: Array<{ server: WyomingServer; clients: WyomingClient[] }> = [];
afterEach(async () => {
  for (const entry of running.splice(0)) {
    for (const client of entry.clients) client.close();
    await entry.server.close();
  }
});

/** The room's tests convert rates inline (the gateway hands the server its codec workers' resample). */
export type TestEngines = Omit<AttachedEngines, 'resample'>;
export const withResampler = (engines: TestEngines): AttachedEngines => ({ ...engines, resample });

export async function startTestWyoming(
  options: { settings?: Partial<WyomingConfig>; engines?: TestEngines; catalog?: Partial<CatalogSource> } = {},
): Promise<TestWyoming> {
  const log = createCaptureLogger('debug');
  const settings = { ...WyomingSchema.parse({ port: 0, zeroconf: false }), ...options.settings };
  const server = await startWyomingServer({
    settings,
    host: '127.0.0.1',
    catalog: {
      speech: SpeechSchema.parse({}),
      modelsDir: '/nonexistent-models-dir',
      whisperModel: 'whisper-large-v3-turbo',
      groqConfigured: false,
      sttLanguages: ['en'],
      ...options.catalog,
    },
    logger: log.logger,
  });
  if (server.port === null) throw new Error('the test Wyoming server did not listen');
  if (options.engines) server.attach(withResampler(options.engines));
  const entry = { server, clients: [] as WyomingClient[] };
  running.push(entry);
  return {
    server,
    port: server.port,
    log,
    async connect() {
      const client = await WyomingClient.connect(server.port!);
      entry.clients.push(client);
      return client;
    },
  };
}
