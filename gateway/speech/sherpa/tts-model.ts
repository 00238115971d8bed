/**
 * Turns the configured voice (catalogue name or directory, optional type and paths) into
 * sherpa-onnx's OfflineTtsConfig: piper/VITS (default), matcha or kokoro.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { findEspeakDataDir, isEspeakDataDir } from '../espeak-data.ts';
import { installCommand } from '../models/catalogue.ts';
import { ModelMissingError } from '../models/model-errors.ts';
import { locateModel } from '../models/paths.ts';
import type { SherpaTtsSchema, TtsModelType } from '../speech-config.ts';
import type { OfflineTtsConfig } from './native.ts';

export type SherpaTtsSettings = z.infer<typeof SherpaTtsSchema>;

export interface ResolvedTtsModel {
  label: string;
  dir: string;
  type: TtsModelType;
  config: OfflineTtsConfig;
  install?: string;
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function guessType(entries: string[]): TtsModelType {
  if (entries.includes('voices.bin')) return 'kokoro';
  if (entries.some((e) => /^(vocos|hifigan).*\.onnx$/.test(e))) return 'matcha';
  return 'vits';
}

/** The voice's main .onnx: the only one there, or the one that is not a vocoder. */
function mainOnnx(entries: string[]): string | undefined {
  const models = entries.filter((e) => e.endsWith('.onnx') && !/^(vocos|hifigan)/.test(e)).sort();
  return models.find((e) => !e.includes('.int8.')) ?? models[0];
}

export function resolveTtsModel(settings: SherpaTtsSettings, modelsDir: string, espeakDataDir?: string): ResolvedTtsModel {
  const location = locateModel(settings.voice, modelsDir);
  const install = location.catalogue ? installCommand(location.catalogue.name) : undefined;
  const dir = location.dir;
  const f = settings.files;
  if (!existsSync(dir) && !f.model && !f.acousticModel) {
    throw new ModelMissingError(`TTS voice ${settings.voice} is not installed (looked in ${dir})`, install);
  }
  const entries = listDir(dir);
  const type = settings.modelType ?? location.catalogue?.ttsType ?? guessType(entries);
  const at = (name: string | undefined) => (name ? path.resolve(dir, name) : undefined);
  const ifExists = (name: string) => (entries.includes(name) ? path.join(dir, name) : undefined);
  // The voice's own espeak-ng-data (piper archives ship one) wins over the system's.
  const ownData = isEspeakDataDir(path.join(dir, 'espeak-ng-data')) ? path.join(dir, 'espeak-ng-data') : undefined;
  const dataDir = at(f.dataDir) ?? ownData ?? findEspeakDataDir(espeakDataDir);
  const tokens = at(f.tokens) ?? path.join(dir, 'tokens.txt');
  const lexicon = at(f.lexicon) ?? ifExists('lexicon.txt');

  const required: Record<string, string | undefined> = { tokens };
  const model: OfflineTtsConfig['model'] = { numThreads: settings.numThreads, provider: settings.provider, debug: 0 };
  switch (type) {
    case 'vits': {
      const onnx = at(f.model) ?? at(mainOnnx(entries));
      required.model = onnx;
      model.vits = { model: onnx ?? '', tokens, lexicon, dataDir };
      break;
    }
    case 'matcha': {
      const acoustic = at(f.acousticModel) ?? at(f.model) ?? at(mainOnnx(entries));
      const vocoder = at(f.vocoder) ?? at(entries.find((e) => /^(vocos|hifigan).*\.onnx$/.test(e)));
      required.acousticModel = acoustic;
      required.vocoder = vocoder;
      model.matcha = { acousticModel: acoustic ?? '', vocoder: vocoder ?? '', tokens, lexicon, dataDir };
      break;
    }
    case 'kokoro': {
      const onnx = at(f.model) ?? at(mainOnnx(entries));
      const voices = at(f.voices) ?? path.join(dir, 'voices.bin');
      required.model = onnx;
      required.voices = voices;
      required.dataDir = dataDir;
      model.kokoro = { model: onnx ?? '', voices, tokens, lexicon, dataDir };
      break;
    }
  }
  const missing = Object.entries(required)
    .filter(([, file]) => !file || !existsSync(file))
    .map(([role, file]) => (file ? `${role} (${file})` : role));
  if (missing.length) {
    throw new ModelMissingError(`TTS voice ${settings.voice} (${type}) is incomplete: missing ${missing.join(', ')}`, install);
  }
  if (dataDir && !isEspeakDataDir(dataDir)) {
    throw new ModelMissingError(`espeak-ng data directory ${dataDir} has no phontab (apt-get install espeak-ng-data)`);
  }
  // One sentence per call: the session already splits the reply into sentences.
  return { label: settings.voice, dir, type, config: { model: withoutUndefined(model), maxNumSentences: 1 }, install };
}

/** The native addon reads every present key as a string: leave unset ones out entirely. */
function withoutUndefined<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
