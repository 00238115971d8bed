/**
 * The gateway's HTTP port: the device WebSocket upgrades on /v1/device (attached by the
 * transport) and plain HTTP routes, registered by the modules that own them. A handler
 * that throws an HttpError answers with its JSON error; anything else is a logged 500.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../logger.ts';
import { LogOnce } from '../session/log-once.ts';
import { HEADERS_TIMEOUT_MS, REQUEST_TIMEOUT_MS } from './http-config.ts';
import { errorBody, HttpError } from './http-errors.ts';

export type RouteHandler = (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => void | Promise<void>;

/** Told about every answered request (metrics). `route` is the registered path, or `other`. */
export interface HttpObserver {
  response?(e: { method: string; route: string; status: number }): void;
  error?(e: { code: string; status: number; route: string }): void;
}

export interface HttpServer {
  readonly server: http.Server;
  route(method: string, path: string, handler: RouteHandler): void;
  /** Serves GET/HEAD requests that match no route (the console's files); 404 when it returns false. */
  fallback(handler: (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => boolean | Promise<boolean>): void;
  observe(observer: HttpObserver): void;
  listen(host: string, port: number): Promise<number>;
  close(): Promise<void>;
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

export function sendError(res: http.ServerResponse, error: HttpError): void {
  sendJson(res, error.status, errorBody(error.code, error.message), error.headers);
}

export interface HttpServerOptions {
  /** The headers must arrive within this (default HEADERS_TIMEOUT_MS). */
  headersTimeoutMs?: number;
  /** The whole request must arrive within this (default REQUEST_TIMEOUT_MS); never 0: a slow client would hold its socket forever. */
  requestTimeoutMs?: number;
}

export function createHttpServer(logger: Logger, options: HttpServerOptions = {}): HttpServer {
  const log = logger.child({ component: 'http' });
  const routes = new Map<string, Map<string, RouteHandler>>();
  const observers: HttpObserver[] = [];
  // A client repeating the same mistake gets one info line per route and code, then debug lines.
  const refusals = new LogOnce();
  let fallback: ((req: http.IncomingMessage, res: http.ServerResponse, url: URL) => boolean | Promise<boolean>) | undefined;

  const notify = <K extends keyof HttpObserver>(kind: K, event: Parameters<NonNullable<HttpObserver[K]>>[0]) => {
    for (const observer of observers) {
      try {
        (observer[kind] as ((e: typeof event) => void) | undefined)?.(event);
      } catch (err) {
        log.error({ err }, 'http observer threw');
      }
    }
  };

  async function handle(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    const method = req.method ?? 'GET';
    const byMethod = routes.get(url.pathname);
    const handler = byMethod?.get(method);
    if (handler) return handler(req, res, url);
    if (byMethod) {
      const allow = [...byMethod.keys()].join(', ');
      throw new HttpError('method_not_allowed', `${method} is not allowed on ${url.pathname} (allowed: ${allow})`, { allow });
    }
    if ((method === 'GET' || method === 'HEAD') && fallback && (await fallback(req, res, url))) return;
    throw new HttpError('not_found', `no route ${method} ${url.pathname}`);
  }

  const requestTimeout = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  const headersTimeout = Math.min(options.headersTimeoutMs ?? HEADERS_TIMEOUT_MS, requestTimeout);
  // Node checks both limits on this interval (default 30 s): a quarter of the shorter one keeps them close to exact.
  const connectionsCheckingInterval = Math.max(50, Math.min(30_000, Math.floor(headersTimeout / 4)));
  const server = http.createServer({ requestTimeout, headersTimeout, connectionsCheckingInterval }, (req, res) => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      sendError(res, new HttpError('bad_request', 'unreadable request URL'));
      return;
    }
    const route = routes.has(url.pathname) ? url.pathname : 'other';
    res.on('finish', () => notify('response', { method: req.method ?? 'GET', route, status: res.statusCode }));
    Promise.resolve()
      .then(() => handle(req, res, url))
      .catch((err: unknown) => {
        const error =
          err instanceof HttpError ? err : new HttpError('internal', 'internal error');
        if (!(err instanceof HttpError)) log.error({ err, path: url.pathname }, 'http handler failed');
        else {
          const fields = { route, code: error.code, status: error.status, reason: error.message };
          if (refusals.first(`${route} ${error.code}`)) log.info(fields, 'http request refused');
          else log.debug(fields, 'http request refused');
        }
        notify('error', { code: error.code, status: error.status, route });
        if (!res.headersSent) {
          // The request body may still be arriving: answer, then close instead of reading it.
          if (!req.complete) res.setHeader('connection', 'close');
          sendError(res, error);
        } else {
          res.destroy();
        }
      });
  });

  return {
    server,
    route(method, path, handler) {
      let byMethod = routes.get(path);
      if (!byMethod) routes.set(path, (byMethod = new Map()));
      byMethod.set(method.toUpperCase(), handler);
    },
    fallback(handler) {
      fallback = handler;
    },
    observe(observer) {
      observers.push(observer);
    },
    listen(host, port) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve((server.address() as AddressInfo).port);
        });
      });
    },
    close() {
      return new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
}
