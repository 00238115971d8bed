/** Where models live and how a configured model reference becomes a directory. */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { findCatalogueModel, type CatalogueModel } from './catalogue.ts';

/** VOXGATE_MODELS_DIR, else <dataDir>/models. */
export function resolveModelsDir(config: { dataDir: string; speech: { modelsDir?: string | undefined } }): string {
  return path.resolve(config.speech.modelsDir ?? path.join(config.dataDir, 'models'));
}

export interface ModelLocation {
  dir: string;
  /** The catalogue entry when the reference names one. */
  catalogue?: CatalogueModel;
}

/** A catalogue name or bare name → <modelsDir>/<name>; anything with a slash is a path. */
export function locateModel(reference: string, modelsDir: string): ModelLocation {
  const catalogue = findCatalogueModel(reference);
  if (catalogue) return { dir: path.join(modelsDir, catalogue.name), catalogue };
  if (reference.includes('/') || reference.includes(path.sep) || reference.startsWith('.')) {
    return { dir: path.resolve(reference) };
  }
  return { dir: path.join(modelsDir, reference) };
}

/** Required entries (a trailing / means a directory) missing from `dir`. */
export function missingFiles(dir: string, required: readonly string[]): string[] {
  return required.filter((entry) => {
    const full = path.join(dir, entry);
    if (!existsSync(full)) return true;
    const stat = statSync(full);
    return entry.endsWith('/') ? !stat.isDirectory() : !stat.isFile() || stat.size === 0;
  });
}
