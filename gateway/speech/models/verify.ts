/**
 * Is a catalogue model installed and usable? Required files present, checksum where one
 * is known (for single-file assets), and a load test in a probe process with the same
 * configuration the providers would use.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { findEspeakDataDir } from '../espeak-data.ts';
import { probeModel } from '../sherpa/model-probe.ts';
import { recognizerConfig, resolveSttModel } from '../sherpa/stt-model.ts';
import { resolveTtsModel } from '../sherpa/tts-model.ts';
import { SherpaSttSchema, SherpaTtsSchema } from '../speech-config.ts';
import { sileroVadConfig } from '../vad/silero-config.ts';
import type { CatalogueModel } from './catalogue.ts';
import { missingFiles } from './paths.ts';

export interface ModelStatus {
  name: string;
  installed: boolean;
  /** Required entries that are absent. */
  missing: string[];
  /** Bytes on disk when installed. */
  bytes?: number;
  /** Set when files are present but the model does not load (or a checksum differs). */
  problem?: string;
}

export function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

export function directorySize(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    total += entry.isDirectory() ? directorySize(full) : statSync(full).size;
  }
  return total;
}

/** Load-tests the model installed at <modelsDir>/<name> the way its provider would load it. */
export async function loadCheck(model: CatalogueModel, modelsDir: string, timeoutMs: number): Promise<void> {
  const dir = path.join(modelsDir, model.name);
  if (model.kind === 'stt') {
    const settings = SherpaSttSchema.parse({ model: model.name, modelType: model.sttType });
    const resolved = resolveSttModel(settings, modelsDir);
    await probeModel({ kind: 'online-asr', config: recognizerConfig(resolved, settings) }, timeoutMs);
  } else if (model.kind === 'tts') {
    const settings = SherpaTtsSchema.parse({ voice: model.name, modelType: model.ttsType });
    await probeModel({ kind: 'tts', config: resolveTtsModel(settings, modelsDir, findEspeakDataDir()).config }, timeoutMs);
  } else {
    const file = path.join(dir, model.fileName ?? model.requiredFiles[0]!);
    await probeModel({ kind: 'vad', config: sileroVadConfig({ model: file, threshold: 0.5, silenceMs: 500, minSpeechMs: 250 }) }, timeoutMs);
  }
}

/** Structure only (fast): used by `models list`. */
export function modelStatus(model: CatalogueModel, modelsDir: string): ModelStatus {
  const dir = path.join(modelsDir, model.name);
  if (!existsSync(dir)) return { name: model.name, installed: false, missing: model.requiredFiles };
  const missing = missingFiles(dir, model.requiredFiles);
  return { name: model.name, installed: missing.length === 0, missing, bytes: missing.length === 0 ? directorySize(dir) : undefined };
}

/** Structure, checksum (single-file assets) and a load test: used by `models verify` and after a pull. */
export async function verifyModel(model: CatalogueModel, modelsDir: string, timeoutMs: number): Promise<ModelStatus> {
  const status = modelStatus(model, modelsDir);
  if (!status.installed) return status;
  if (model.archive === 'file' && model.sha256) {
    const actual = await sha256File(path.join(modelsDir, model.name, model.fileName ?? model.requiredFiles[0]!));
    if (actual !== model.sha256) return { ...status, problem: `checksum mismatch: expected ${model.sha256}, found ${actual}` };
  }
  try {
    await loadCheck(model, modelsDir, timeoutMs);
    return status;
  } catch (err) {
    return { ...status, problem: `does not load: ${(err as Error).message}` };
  }
}
