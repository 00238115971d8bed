/**
 * GET /metrics in Prometheus text format. By default only this machine may read it
 * (a local Prometheus or agent); `http.metricsAccess` opens it to API keys or to anyone.
 */
import type { IncomingMessage } from 'node:http';
import type { ApiKeyVerifier } from './request-auth.ts';
import { isLoopback, requireApiKey } from './request-auth.ts';
import type { HttpConfig } from './http-config.ts';
import { HttpError } from './http-errors.ts';
import type { HttpServer } from './http-server.ts';
import type { GatewayMetrics } from './metrics.ts';

export function registerMetricsRoute(
  http: HttpServer,
  deps: {
    metrics: GatewayMetrics;
    access: HttpConfig['metricsAccess'];
    keys: ApiKeyVerifier;
    /** Whether the request comes from this machine; default: its peer is a loopback address. */
    isLocalRequest?: (req: IncomingMessage) => boolean;
  },
): void {
  const isLocal = deps.isLocalRequest ?? ((req: IncomingMessage) => isLoopback(req.socket.remoteAddress));
  http.route('GET', '/metrics', async (req, res) => {
    const local = isLocal(req);
    if (deps.access === 'loopback' && !local) {
      throw new HttpError('forbidden', '/metrics is served to this machine only (set http.metricsAccess to "apikey" or "open")');
    }
    if (deps.access === 'apikey' && !local) requireApiKey(req, deps.keys);
    const { contentType, body } = await deps.metrics.render();
    res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' });
    res.end(body);
  });
}
