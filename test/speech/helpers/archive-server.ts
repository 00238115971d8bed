/**
 * A loopback HTTP server for model downloads, serving what a test puts on it (real .tar.bz2
 * archives built with `tar cjf`, single files), as GitHub's release assets are served.
 * Used by the model manager tests and the first-start download tests.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

export type Route = (req: http.IncomingMessage, res: http.ServerResponse) => void;

export interface ArchiveServer {
  /** `http://127.0.0.1:<port>`. */
  readonly base: string;
  readonly routes: Map<string, Route>;
  /** Every path requested, in order. */
  readonly requested: string[];
  /** Serves `body` whole, with its Content-Length, on `route`. */
  serve(route: string, body: Buffer): void;
  close(): Promise<void>;
}

export async function startArchiveServer(): Promise<ArchiveServer> {
  const routes = new Map<string, Route>();
  const requested: string[] = [];
  const server = http.createServer((req, res) => {
    requested.push(req.url ?? '');
    const route = routes.get(req.url ?? '');
    if (route) route(req, res);
    else {
      res.writeHead(404);
      res.end('not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    routes,
    requested,
    serve(route, body) {
      routes.set(route, (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
        res.end(body);
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** `tar cjf` of `<workDir>/<name>/` (an archive whose top-level directory is `name`), as bytes. */
export function tarBz2(workDir: string, name: string): Buffer {
  const archive = path.join(workDir, `${name}.tar.bz2`);
  execFileSync('tar', ['cjf', archive, '-C', workDir, name]);
  return readFileSync(archive);
}
