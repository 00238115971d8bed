/**
 * Turns the configured STT model (catalogue name or directory, optional type and paths)
 * into the files sherpa-onnx needs and its OnlineRecognizerConfig.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { installCommand } from '../models/catalogue.ts';
import { ModelMissingError } from '../models/model-errors.ts';
import { locateModel } from '../models/paths.ts';
import type { SherpaSttSchema, SttModelType } from '../speech-config.ts';
import { STT_SAMPLE_RATE } from '../types.ts';
import type { OnlineRecognizerConfig } from './native.ts';
import type { z } from 'zod';

export type SherpaSttSettings = z.infer<typeof SherpaSttSchema>;

export interface SttModelFiles {
  encoder?: string;
  decoder?: string;
  joiner?: string;
  model?: string;
  tokens: string;
}

export interface ResolvedSttModel {
  /** What health and logs call it. */
  label: string;
  dir: string;
  type: SttModelType;
  files: SttModelFiles;
  install?: string;
}

/** Which files each model type needs (besides tokens.txt). */
const NEEDS: Record<SttModelType, ReadonlyArray<keyof SttModelFiles>> = {
  transducer: ['encoder', 'decoder', 'joiner'],
  paraformer: ['encoder', 'decoder'],
  'zipformer2-ctc': ['model'],
  'nemo-ctc': ['model'],
  'tone-ctc': ['model'],
};

/** Log-mel features every sherpa-onnx online model here expects. */
const FEATURE_DIM = 80;

function onnxFiles(dir: string): string[] {
  try {
    return readdirSync(dir).filter((f) => f.endsWith('.onnx') && statSync(path.join(dir, f)).isFile());
  } catch {
    return [];
  }
}

/** Picks `<role>*.onnx`, preferring the int8 variant when asked to. */
function pick(files: string[], role: string, preferInt8: boolean): string | undefined {
  const matches = files.filter((f) => f.startsWith(role)).sort();
  const int8 = matches.filter((f) => f.includes('.int8.'));
  const full = matches.filter((f) => !f.includes('.int8.'));
  return (preferInt8 ? (int8[0] ?? full[0]) : (full[0] ?? int8[0]));
}

function guessType(files: string[]): SttModelType | undefined {
  const has = (role: string) => files.some((f) => f.startsWith(role));
  if (has('encoder') && has('decoder') && has('joiner')) return 'transducer';
  if (has('encoder') && has('decoder')) return 'paraformer';
  if (files.length > 0) return 'zipformer2-ctc';
  return undefined;
}

export function resolveSttModel(settings: SherpaSttSettings, modelsDir: string): ResolvedSttModel {
  const location = locateModel(settings.model, modelsDir);
  const install = location.catalogue ? installCommand(location.catalogue.name) : undefined;
  const dir = location.dir;
  const explicit = Object.entries(settings.files).filter(([, v]) => v) as Array<[keyof SttModelFiles, string]>;
  if (!existsSync(dir) && explicit.length === 0) {
    throw new ModelMissingError(`STT model ${settings.model} is not installed (looked in ${dir})`, install);
  }
  const found = onnxFiles(dir);
  const type = settings.modelType ?? location.catalogue?.sttType ?? guessType(found);
  if (!type) throw new ModelMissingError(`no ONNX model files in ${dir} for STT model ${settings.model}`, install);

  const files: Partial<SttModelFiles> = { tokens: 'tokens.txt' };
  for (const role of NEEDS[type]) {
    files[role] =
      role === 'model'
        ? pick(found.filter((f) => !/^(encoder|decoder|joiner)/.test(f)), '', settings.preferInt8)
        : // Decoders are tiny and lose the most from int8: keep them full precision.
          pick(found, role, settings.preferInt8 && role !== 'decoder');
  }
  Object.assign(files, location.catalogue?.files ?? {});
  for (const [role, value] of explicit) files[role] = value;

  const absolute: Partial<SttModelFiles> = {};
  const missing: string[] = [];
  for (const role of [...NEEDS[type], 'tokens'] as Array<keyof SttModelFiles>) {
    const value = files[role];
    const full = value ? path.resolve(dir, value) : undefined;
    if (!full || !existsSync(full)) missing.push(value ? `${role} (${full})` : `${role} (no ${role}*.onnx in ${dir})`);
    else absolute[role] = full;
  }
  if (missing.length) {
    throw new ModelMissingError(`STT model ${settings.model} (${type}) is incomplete: missing ${missing.join(', ')}`, install);
  }
  return { label: settings.model, dir, type, files: absolute as SttModelFiles, install };
}

/** Maps our model type onto sherpa-onnx's modelConfig fields. */
export function recognizerConfig(model: ResolvedSttModel, settings: SherpaSttSettings): OnlineRecognizerConfig {
  const f = model.files;
  const modelConfig: OnlineRecognizerConfig['modelConfig'] = {
    tokens: f.tokens,
    numThreads: settings.numThreads,
    provider: settings.provider,
    debug: 0,
  };
  switch (model.type) {
    case 'transducer':
      modelConfig.transducer = { encoder: f.encoder!, decoder: f.decoder!, joiner: f.joiner! };
      break;
    case 'paraformer':
      modelConfig.paraformer = { encoder: f.encoder!, decoder: f.decoder! };
      break;
    case 'zipformer2-ctc':
      modelConfig.zipformer2Ctc = { model: f.model! };
      break;
    case 'nemo-ctc':
      modelConfig.nemoCtc = { model: f.model! };
      break;
    case 'tone-ctc':
      modelConfig.toneCtc = { model: f.model! };
      break;
  }
  return {
    featConfig: { sampleRate: STT_SAMPLE_RATE, featureDim: FEATURE_DIM },
    modelConfig,
    // CTC models only decode greedily in sherpa's online path.
    decodingMethod: model.type === 'transducer' ? settings.decodingMethod : 'greedy_search',
    maxActivePaths: 4,
    // The turn is bounded by the button (or our VAD): sherpa's own endpointing would reset the text mid-turn.
    enableEndpoint: 0,
  };
}
