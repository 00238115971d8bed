/**
 * The browser console's files (gateway/http/console/), open to anyone: they hold no data;
 * everything they show comes from authenticated calls. Only the files in that directory
 * are served, by exact name (no paths from the URL reach the file system), read once.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HttpServer } from './http-server.ts';

export const CONSOLE_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'console');

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** Same-origin only; the console talks to this gateway's HTTP and WebSocket and nothing else. */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; connect-src 'self' ws: wss:; media-src 'self' blob:; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

interface StaticFile {
  body: Buffer;
  contentType: string;
}

export function loadStaticFiles(dir: string = CONSOLE_DIR): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  for (const name of readdirSync(dir)) {
    const contentType = CONTENT_TYPES[path.extname(name)];
    if (!contentType) continue;
    const file = { body: readFileSync(path.join(dir, name)), contentType };
    files.set(`/${name}`, file);
    if (name === 'index.html') files.set('/', file);
  }
  return files;
}

export function registerStaticFiles(http: HttpServer, dir: string = CONSOLE_DIR): void {
  const files = loadStaticFiles(dir);
  http.fallback((req, res, url) => {
    const file = files.get(url.pathname);
    if (!file) return false;
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': file.contentType,
      'content-length': file.body.length,
      // Small files that change with each release: always revalidate.
      'cache-control': 'no-cache',
    });
    res.end(req.method === 'HEAD' ? undefined : file.body);
    return true;
  });
}
