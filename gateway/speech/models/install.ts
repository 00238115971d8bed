/**
 * `voxgate models pull`: download a catalogue model into a temporary directory inside
 * the models directory, verify it (checksum when known, required files, a load test),
 * then move it into place with a rename. A failed, corrupt or truncated download leaves
 * nothing behind, and an already installed copy is only replaced by a verified one.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { CatalogueModel } from './catalogue.ts';
import { downloadFile, type DownloadProgress } from './download.ts';
import { extractTarBz2 } from './extract.ts';
import { missingFiles } from './paths.ts';
import { loadCheck } from './verify.ts';

/** Prefix of the work directories inside modelsDir (only a killed pull leaves one behind). */
export const PULL_TEMP_PREFIX = '.pull-';

export class InstallError extends Error {
  override name = 'InstallError';
}

export interface PullOptions {
  onProgress?: (progress: DownloadProgress) => void;
  /** Called as each step starts, for the person watching. */
  onStep?: (step: 'download' | 'verify' | 'extract' | 'load-test' | 'install') => void;
  signal?: AbortSignal;
  /** Load test timeout; 0 skips the load test. */
  loadTimeoutMs: number;
}

export interface PullResult {
  dir: string;
  bytes: number;
  sha256: string;
  replaced: boolean;
}

export async function pullModel(model: CatalogueModel, modelsDir: string, options: PullOptions): Promise<PullResult> {
  await mkdir(modelsDir, { recursive: true });
  const work = await mkdtemp(path.join(modelsDir, `${PULL_TEMP_PREFIX}${model.name}-`));
  try {
    options.onStep?.('download');
    const asset = path.join(work, model.archive === 'file' ? 'asset' : 'asset.tar.bz2');
    const download = await downloadFile(model.url, asset, { onProgress: options.onProgress, signal: options.signal });

    options.onStep?.('verify');
    if (model.bytes !== undefined && download.bytes !== model.bytes) {
      throw new InstallError(`${model.name}: downloaded ${download.bytes} bytes, expected ${model.bytes}`);
    }
    if (model.sha256 && download.sha256 !== model.sha256) {
      throw new InstallError(`${model.name}: checksum mismatch (expected ${model.sha256}, got ${download.sha256}); the download is corrupt`);
    }

    // Build <work>/staged/<name>/ so that load tests see the same layout as the real models dir.
    const staged = path.join(work, 'staged');
    const modelDir = path.join(staged, model.name);
    if (model.archive === 'file') {
      await mkdir(modelDir, { recursive: true });
      await rename(asset, path.join(modelDir, model.fileName ?? path.basename(model.url)));
    } else {
      options.onStep?.('extract');
      await mkdir(staged);
      await extractTarBz2(asset, staged);
      await rm(asset);
      if (!existsSync(modelDir)) {
        const top = await readdir(staged);
        throw new InstallError(`${model.name}: the archive does not contain a ${model.name}/ directory (it has: ${top.join(', ') || 'nothing'})`);
      }
    }
    const missing = missingFiles(modelDir, model.requiredFiles);
    if (missing.length) throw new InstallError(`${model.name}: the archive lacks ${missing.join(', ')} (corrupt or incomplete download)`);

    if (options.loadTimeoutMs > 0) {
      options.onStep?.('load-test');
      await loadCheck(model, staged, options.loadTimeoutMs).catch((err) => {
        throw new InstallError(`${model.name}: downloaded but does not load: ${(err as Error).message}`);
      });
    }

    options.onStep?.('install');
    const target = path.join(modelsDir, model.name);
    const replaced = existsSync(target);
    if (replaced) await rename(target, path.join(work, 'previous'));
    await rename(modelDir, target);
    return { dir: target, bytes: download.bytes, sha256: download.sha256, replaced };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
