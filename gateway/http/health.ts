/**
 * GET /health: the overall status and each part — broker, database, the speech and language
 * providers (ready, what is missing and the command that installs it, which fallback is
 * serving), and the connected devices. Without an API key only the status and each part's
 * readiness (health-access.ts).
 */
import type { ProviderHealth } from '../providers.ts';
import { healthDetailsAllowed, publicHealth } from './health-access.ts';
import { sendJson, type HttpServer } from './http-server.ts';
import type { ApiKeyVerifier } from './request-auth.ts';

export interface HealthDevice {
  deviceId: string;
  transport: string;
  state: string;
  /** When its connection opened (epoch ms). */
  since?: number;
}

/** The first-start model download (gateway/speech/models/auto-pull.ts), as /health shows it. */
export interface ModelsHealth {
  state: string;
  models: Array<{ name: string; state: string; percent?: number; receivedBytes?: number; totalBytes?: number; error?: string }>;
  command?: string;
}

export interface HealthSources {
  broker(): ProviderHealth;
  database(): ProviderHealth;
  engines(): ProviderHealth[];
  devices(): HealthDevice[];
  /** Absent when the gateway does not manage its models (engines supplied by the caller). */
  models?: () => ModelsHealth;
}

export interface HealthReport {
  /**
   * `ok`: every part ready. `degraded`: serving, but a provider is missing or in fallback.
   * `down`: the database or broker is not working (answered with status 503).
   */
  status: 'ok' | 'degraded' | 'down';
  uptime_seconds: number;
  broker: ProviderHealth;
  database: ProviderHealth;
  engines: ProviderHealth[];
  /** The first-start download of the default speech models, when the gateway manages them. */
  models?: ModelsHealth;
  devices: {
    connected: number;
    by_transport: Record<string, number>;
    list: Array<{ device_id: string; transport: string; state: string; connected_since?: string }>;
  };
}

const startedAt = Date.now();

function safely(read: () => ProviderHealth, name: string): ProviderHealth {
  try {
    return read();
  } catch (err) {
    return { name, ready: false, detail: `health check failed: ${(err as Error).message}` };
  }
}

export function buildHealthReport(sources: HealthSources): HealthReport {
  const broker = safely(sources.broker, 'broker');
  const database = safely(sources.database, 'database');
  let engines: ProviderHealth[];
  try {
    engines = sources.engines();
  } catch (err) {
    engines = [{ name: 'engines', ready: false, detail: `health check failed: ${(err as Error).message}` }];
  }
  const devices = sources.devices();
  const byTransport: Record<string, number> = {};
  for (const d of devices) byTransport[d.transport] = (byTransport[d.transport] ?? 0) + 1;
  const status = !broker.ready || !database.ready ? 'down' : engines.every((e) => e.ready) ? 'ok' : 'degraded';
  return {
    status,
    uptime_seconds: Math.round((Date.now() - startedAt) / 1000),
    broker,
    database,
    engines,
    ...(sources.models ? { models: sources.models() } : {}),
    devices: {
      connected: devices.length,
      by_transport: byTransport,
      list: devices.map((d) => ({
        device_id: d.deviceId,
        transport: d.transport,
        state: d.state,
        ...(d.since !== undefined ? { connected_since: new Date(d.since).toISOString() } : {}),
      })),
    },
  };
}

export function registerHealthRoute(http: HttpServer, sources: HealthSources, keys: ApiKeyVerifier): void {
  http.route('GET', '/health', (req, res) => {
    const details = healthDetailsAllowed(req, keys);
    const report = buildHealthReport(sources);
    // 200 while degraded: the gateway serves, and the body says what is missing. 503 when it cannot.
    sendJson(res, report.status === 'down' ? 503 : 200, details ? report : publicHealth(report));
  });
}
