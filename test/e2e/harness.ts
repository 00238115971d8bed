/**
 * End-to-end harness: the real gateway (gateway/app.ts) in this process on loopback port 0
 * with a temp data directory and a captured pino log, devices registered through its store,
 * and simulated wearables (device-sim) connected over WebSocket or MQTT. Engines are whatever
 * the test passes (fakes from test/fakes, or none: the configured real ones).
 */
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';
import { startGateway, type EngineOverrides, type RunningGateway } from '../../gateway/app.ts';
import { loadConfig, type Config } from '../../gateway/config.ts';
import type { SessionEvents } from '../../gateway/session/events.ts';
import type { TurnRecord } from '../../gateway/store/types.ts';
import { SimDevice, type SimDeviceOptions, type SimTransport } from '../../device-sim/index.ts';
import { createCaptureLogger, type CapturedLogger } from '../fakes/capture-logger.ts';
import { openRawDevice, type RawDevice } from './raw-device.ts';

import { REPO_ROOT, SPEECH_60S_WAV } from '../helpers/fixture-paths.ts';

export { REPO_ROOT, SPEECH_60S_WAV };

/** Every scenario runs over both transports. */
export const TRANSPORTS: SimTransport[] = ['websocket', 'mqtt'];

/** How long a test waits for something the gateway should do at once (generous: CI has 2 loaded cores). */
export const EVENT_TIMEOUT_MS = 10_000;

export interface Credentials {
  id: string;
  token: string;
}

export interface E2eGatewayOptions {
  /** Reuse a data directory (restart); default: a fresh temp directory, removed on dispose. */
  dataDir?: string;
  /** Config values by dotted path (e.g. `limits.leadMs`, `groq.baseUrl`). */
  overrides?: Record<string, unknown>;
  engines?: EngineOverrides;
  /** Log level of the captured logger (default debug: tests count log lines). */
  logLevel?: string;
}

/** One running gateway and what a test needs around it. */
export class E2eGateway {
  readonly turns: TurnRecord[] = [];
  private readonly recorded = new EventEmitter<{ turn: [TurnRecord] }>();
  private readonly devices = new Set<{ close(): Promise<void> }>();

  private constructor(
    readonly gateway: RunningGateway,
    readonly config: Config,
    readonly log: CapturedLogger,
    readonly options: E2eGatewayOptions,
    /** Whether dispose removes the data directory (it was made here, maybe before a restart). */
    private readonly ownsDataDir: boolean,
  ) {}

  static start(options: E2eGatewayOptions = {}): Promise<E2eGateway> {
    return E2eGateway.launch(options, options.dataDir === undefined);
  }

  private static async launch(options: E2eGatewayOptions, ownsDataDir: boolean): Promise<E2eGateway> {
    const dataDir = options.dataDir ?? mkdtempSync(path.join(os.tmpdir(), 'voxgate-e2e-'));
    const config = loadConfig({
      env: {},
      // No first-start model download: tests never reach outside the machine (test/speech/auto-pull.test.ts covers it).
      // Preemptive generation off unless a test turns it on (test/e2e/preemption.test.ts): tests script
      // the fake LLM answer by answer, one request per turn, and a pause in their speech would add
      // speculative requests.
      overrides: {
        dataDir,
        host: '127.0.0.1',
        httpPort: 0,
        mqttPort: 0,
        logLevel: 'debug',
        'wyoming.port': 'off',
        'speech.autoPull': false,
        'preemption.enabled': false,
        ...options.overrides,
      },
    });
    const log = createCaptureLogger(options.logLevel ?? 'debug');
    let self: E2eGateway | undefined;
    const events: SessionEvents = {
      turnRecorded: (record) => {
        self?.turns.push(record);
        self?.recorded.emit('turn', record);
      },
    };
    let gateway: RunningGateway;
    try {
      gateway = await startGateway(config, { logger: log.logger, engines: options.engines, events });
    } catch (err) {
      if (ownsDataDir) rmSync(dataDir, { recursive: true, force: true });
      throw err;
    }
    self = new E2eGateway(gateway, config, log, options, ownsDataDir);
    live.add(self);
    return self;
  }

  get dataDir(): string {
    return this.config.dataDir;
  }

  url(transport: SimTransport): string {
    return transport === 'mqtt' ? `mqtt://127.0.0.1:${this.gateway.mqttPort}` : `ws://127.0.0.1:${this.gateway.httpPort}`;
  }

  /** Registers a device through the store (as `voxgate device add` does). */
  addDevice(id: string): Credentials {
    const issued = this.gateway.store.devices.add(id);
    return { id: issued.device.id, token: issued.token };
  }

  /** A simulated wearable, not yet connected (closed on dispose). */
  simDevice(transport: SimTransport, credentials: Credentials, options: Partial<SimDeviceOptions> = {}): SimDevice {
    const device = new SimDevice({ transport, url: this.url(transport), deviceId: credentials.id, token: credentials.token, ...options });
    this.devices.add(device);
    return device;
  }

  /** A simulated wearable that has said hello. */
  async connect(transport: SimTransport, credentials: Credentials, options: Partial<SimDeviceOptions> = {}): Promise<SimDevice> {
    const device = this.simDevice(transport, credentials, options);
    await device.connect();
    return device;
  }

  /** A device that sends raw bytes (for bad input); it says nothing by itself. */
  async raw(transport: SimTransport, credentials: Credentials): Promise<RawDevice> {
    const device = await openRawDevice(transport, this.url(transport), credentials.id, credentials.token, this.config.mqttTopicPrefix);
    this.devices.add(device);
    return device;
  }

  /** The record of a device's turn, once the gateway has stored it. */
  waitForTurn(deviceId: string, match: (record: TurnRecord) => boolean = () => true, timeoutMs = EVENT_TIMEOUT_MS): Promise<TurnRecord> {
    const matches = (r: TurnRecord) => r.deviceId === deviceId && match(r);
    const already = this.turns.find(matches);
    if (already) return Promise.resolve(already);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.recorded.off('turn', listener);
        reject(new Error(`no matching turn recorded for ${deviceId} within ${timeoutMs} ms`));
      }, timeoutMs);
      const listener = (record: TurnRecord) => {
        if (!matches(record)) return;
        clearTimeout(timer);
        this.recorded.off('turn', listener);
        resolve(record);
      };
      this.recorded.on('turn', listener);
    });
  }

  /** Log lines of one device whose message contains `text`. */
  lines(deviceId: string | undefined, text: string): CapturedLogger['lines'] {
    return this.log.matching(text).filter((line) => deviceId === undefined || line.device === deviceId);
  }

  /** Closes this gateway's devices and stops it; the data directory stays (see restart). */
  async stop(): Promise<void> {
    await Promise.all([...this.devices].map((d) => d.close().catch(() => {})));
    this.devices.clear();
    await this.gateway.stop();
  }

  /** Stops and starts a new gateway on the same data directory (same engines and config). */
  async restart(): Promise<E2eGateway> {
    await this.stop();
    live.delete(this);
    return E2eGateway.launch({ ...this.options, dataDir: this.dataDir }, this.ownsDataDir);
  }

  async dispose(): Promise<void> {
    live.delete(this);
    try {
      await this.stop();
    } finally {
      if (this.ownsDataDir) rmSync(this.dataDir, { recursive: true, force: true });
    }
  }
}

const live = new Set<E2eGateway>();

/** Disposes every gateway (and its devices) each test started; call once in a test file whose tests start their own. */
export function disposeGatewaysAfterEach(): void {
  afterEach(async () => {
    await Promise.all([...live].map((g) => g.dispose()));
  });
}

/** A unique device id per test (ids are also MQTT topic levels: letters, digits, -). */
let counter = 0;
export function uniqueId(prefix: string): string {
  counter += 1;
  return `${prefix}-${process.pid}-${counter}`;
}
