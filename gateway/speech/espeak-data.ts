/**
 * Finds an espeak-ng data directory (phoneme tables and dictionaries). espeak-ng itself
 * and sherpa-onnx's piper/kokoro phonemizer both need one; Debian and Ubuntu put it
 * under /usr/lib/<arch>/espeak-ng-data (package espeak-ng-data).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';

/** The usual install places, most specific first. */
export const ESPEAK_DATA_CANDIDATES = [
  '/usr/lib/x86_64-linux-gnu/espeak-ng-data',
  '/usr/lib/aarch64-linux-gnu/espeak-ng-data',
  '/usr/lib/arm-linux-gnueabihf/espeak-ng-data',
  '/usr/share/espeak-ng-data',
  '/usr/local/share/espeak-ng-data',
  '/opt/homebrew/share/espeak-ng-data',
];

/** A directory counts when it has espeak-ng's phoneme table. */
export function isEspeakDataDir(dir: string): boolean {
  return existsSync(path.join(dir, 'phontab'));
}

/** The configured directory when given (even if invalid, so the error names it), else the first found. */
export function findEspeakDataDir(configured?: string, candidates = ESPEAK_DATA_CANDIDATES): string | undefined {
  if (configured) return path.resolve(configured);
  return candidates.find(isEspeakDataDir);
}
