/**
 * Downloads one file over HTTP(S) (following redirects, as GitHub release assets need),
 * hashing it on the way, with progress callbacks. A connection that ends before the
 * announced length is a truncated download, never a silently short file.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';

/** A stalled connection (no bytes at all) is given up after this long. */
export const DOWNLOAD_IDLE_TIMEOUT_MS = 60_000;

export class DownloadError extends Error {
  override name = 'DownloadError';
  /** The server could not be reached at all (offline, DNS, refused): trying other files there is pointless. */
  readonly unreachable: boolean;
  constructor(message: string, options: { unreachable?: boolean } = {}) {
    super(message);
    this.unreachable = options.unreachable ?? false;
  }
}

export interface DownloadProgress {
  received: number;
  /** From Content-Length; undefined when the server does not say. */
  total?: number;
}

export interface DownloadResult {
  bytes: number;
  sha256: string;
}

export interface DownloadOptions {
  onProgress?: (progress: DownloadProgress) => void;
  signal?: AbortSignal;
  idleTimeoutMs?: number;
}

export async function downloadFile(url: string, destination: string, options: DownloadOptions = {}): Promise<DownloadResult> {
  const idleTimeoutMs = options.idleTimeoutMs ?? DOWNLOAD_IDLE_TIMEOUT_MS;
  const controller = new AbortController();
  const onOuterAbort = () => controller.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onOuterAbort, { once: true });
  let idle: NodeJS.Timeout | undefined;
  const armIdle = () => {
    clearTimeout(idle);
    idle = setTimeout(() => controller.abort(new DownloadError(`no data for ${idleTimeoutMs} ms`)), idleTimeoutMs);
  };
  const file = createWriteStream(destination);
  const hash = createHash('sha256');
  let received = 0;
  let total: number | undefined;
  try {
    armIdle();
    let response: Response;
    try {
      response = await fetch(url, { redirect: 'follow', signal: controller.signal });
    } catch (err) {
      throw new DownloadError(`cannot reach ${url}: ${reason(err, controller)}`, { unreachable: !options.signal?.aborted });
    }
    if (!response.ok || !response.body) throw new DownloadError(`${url} answered HTTP ${response.status} ${response.statusText}`);
    const length = Number(response.headers.get('content-length'));
    total = Number.isFinite(length) && length > 0 ? length : undefined;
    options.onProgress?.({ received, total });
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        armIdle();
        received += chunk.length;
        hash.update(chunk);
        if (!file.write(chunk)) await once(file, 'drain');
        options.onProgress?.({ received, total });
      }
    } catch (err) {
      throw new DownloadError(
        total !== undefined
          ? `download truncated: got ${received} of ${total} bytes (${reason(err, controller)})`
          : `download interrupted after ${received} bytes (${reason(err, controller)})`,
      );
    }
    if (total !== undefined && received !== total) {
      throw new DownloadError(`download truncated: got ${received} of ${total} bytes`);
    }
    file.end();
    await once(file, 'finish');
    return { bytes: received, sha256: hash.digest('hex') };
  } catch (err) {
    file.destroy();
    throw err;
  } finally {
    clearTimeout(idle);
    options.signal?.removeEventListener('abort', onOuterAbort);
  }
}

function reason(err: unknown, controller: AbortController): string {
  const why = controller.signal.aborted ? controller.signal.reason : err;
  if (why instanceof Error) {
    const cause = (why as Error & { cause?: unknown }).cause;
    return cause instanceof Error ? `${why.message}: ${cause.message}` : why.message;
  }
  return String(why);
}
