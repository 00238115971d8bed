/**
 * Extracts a `.tar.bz2` as a stream: unbzip2-stream (pure JS, streaming, so a 300 MB
 * archive is never held in memory; seek-bzip would need the whole file in a buffer and
 * block while decoding) feeding node-tar's extractor (isaacs/node-tar, npm's own), which
 * refuses absolute paths and `..` entries. Truncated or corrupt data rejects.
 */
import { createReadStream, readdirSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar';
import bz2 from 'unbzip2-stream';

export class ExtractError extends Error {
  override name = 'ExtractError';
}

export async function extractTarBz2(archive: string, destination: string): Promise<void> {
  try {
    await pipeline(
      createReadStream(archive),
      bz2(),
      tar.x({ cwd: destination, strict: true }),
    );
  } catch (err) {
    throw new ExtractError(`cannot extract ${archive}: ${(err as Error).message || String(err)} (corrupt or incomplete archive)`);
  }
  if (readdirSync(destination).length === 0) throw new ExtractError(`${archive} holds no files (corrupt or incomplete archive)`);
}
