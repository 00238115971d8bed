/**
 * What voxgate's speech offers Home Assistant: one STT model per configured recognizer and
 * the TTS voices of the configured providers, each with its languages and whether it is
 * installed. Built synchronously from the config, the model directories on disk and the
 * live providers' state, so `describe` is answered at once, also while models still load:
 * until the engines are attached, "installed" means "on disk"; after, "loaded and ready".
 *
 * The same entries route requests: `transcribe{name}` to one recognizer, `synthesize{voice}`
 * to the provider that owns the voice (a sherpa voice's speaker becomes `<voice>:<sid>`).
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { findEspeakDataDir } from '../speech/espeak-data.ts';
import { FallbackSttProvider } from '../speech/fallback-stt.ts';
import { FallbackTtsProvider } from '../speech/fallback-tts.ts';
import { findCatalogueModel } from '../speech/models/catalogue.ts';
import { locateModel } from '../speech/models/paths.ts';
import { resolveSttModel } from '../speech/sherpa/stt-model.ts';
import { resolveTtsModel } from '../speech/sherpa/tts-model.ts';
import type { SpeechConfig } from '../speech/speech-config.ts';
import type { SttProvider, TtsProvider } from '../speech/types.ts';

export interface Attribution {
  name: string;
  url: string;
}

const SHERPA: Attribution = { name: 'k2-fsa/sherpa-onnx', url: 'https://github.com/k2-fsa/sherpa-onnx' };
const PIPER: Attribution = { name: 'rhasspy/piper (voices via sherpa-onnx)', url: 'https://github.com/rhasspy/piper' };
const ESPEAK: Attribution = { name: 'espeak-ng', url: 'https://github.com/espeak-ng/espeak-ng' };
const GROQ: Attribution = { name: 'Groq (OpenAI Whisper)', url: 'https://console.groq.com/docs/speech-to-text' };

/** Whisper's languages (ISO 639-1, plus haw and yue): what Groq Whisper recognizes. */
export const WHISPER_LANGUAGES = (
  'en zh de es ru ko fr ja pt tr pl ca nl ar sv it id hi fi vi he uk el ms cs ro da hu ta no th ur hr bg lt la mi ml cy sk te fa lv bn ' +
  'sr az sl kn et mk br eu is hy ne mn bs kk sq sw gl mr pa si km sn yo so af oc ka be tg sd gu am yi lo uz fo ht ps tk nn mt sa lb my ' +
  'bo tl mg as tt haw ln ha ba jw su yue'
).split(' ');

export interface SttModelEntry {
  name: string;
  languages: string[];
  installed: boolean;
  description: string;
  attribution: Attribution;
  /** The live provider, once the engines are attached. */
  provider?: SttProvider;
}

export interface TtsVoiceEntry {
  name: string;
  languages: string[];
  installed: boolean;
  description: string;
  attribution: Attribution;
  /** Speaker names of a multi-speaker voice (known once it is loaded; sherpa's are numbers). */
  speakers?: string[];
  provider?: TtsProvider;
  /** The provider's voice id for a speaker of this voice (or its default speaker). */
  voiceId(speaker?: string): string;
}

export interface SpeechCatalog {
  stt: SttModelEntry[];
  tts: TtsVoiceEntry[];
  /** The recognizer that would serve now emits partial transcripts. */
  sttStreaming: boolean;
}

/** What the catalog is built from (given by the composition root). */
export interface CatalogSource {
  speech: Pick<SpeechConfig, 'stt' | 'tts' | 'sherpaStt' | 'sherpaTts' | 'espeak'>;
  modelsDir: string;
  whisperModel: string;
  /** A Groq API key is configured. */
  groqConfigured: boolean;
  sttLanguages: readonly string[];
}

export interface AttachedEngines {
  stt: SttProvider;
  tts: TtsProvider;
  /** Converts audio between rates off the event loop (the gateway's codec workers). */
  resample: Resample;
}

export type Resample = (samples: Float32Array, fromRate: number, toRate: number) => Promise<Float32Array>;

/** A configured model reference (catalogue name or path) as Home Assistant shows it. */
export function displayName(reference: string): string {
  return path.basename(reference.replace(/[\\/]+$/, '')) || reference;
}

/** espeak-ng ids and piper tags → `ll` or `ll_RR` (Home Assistant matches `en_US` with `en-US` and `en`). */
export function normalizeLanguage(tag: string): string {
  const parts = tag.split(/[-_]/);
  const base = (parts[0] ?? tag).toLowerCase();
  const region = parts.slice(1).find((p) => /^[a-z]{2}$/i.test(p));
  return region ? `${base}_${region.toUpperCase()}` : base;
}

/** Piper names carry their language (`vits-piper-en_US-amy-low`, `en_US-fixture-low.onnx`). */
const PIPER_LANGUAGE = /(?:^|[-_/.])([a-z]{2,3})_([A-Z]{2})(?=[-_.]|$)/;

export class CatalogBuilder {
  private readonly voiceLanguages = new Map<string, string[]>();

  constructor(private readonly source: CatalogSource) {}

  build(engines?: AttachedEngines): SpeechCatalog {
    return {
      stt: this.sttModels(engines),
      tts: this.ttsVoices(engines),
      sttStreaming: engines ? engines.stt.capabilities.partials : this.source.speech.stt[0] === 'sherpa',
    };
  }

  private sttModels(engines?: AttachedEngines): SttModelEntry[] {
    const { speech, sttLanguages } = this.source;
    if (engines && !(engines.stt instanceof FallbackSttProvider)) {
      // An engine given by the caller instead of the configured ones (tests, embedding).
      const p = engines.stt;
      return [{ name: p.name, languages: [...sttLanguages], installed: p.health().ready, description: `${p.name} speech-to-text`, attribution: SHERPA, provider: p }];
    }
    const live = engines?.stt instanceof FallbackSttProvider ? engines.stt.providers : [];
    return speech.stt.map((kind) => {
      const provider = live.find((p) => p.name === kind);
      const installed = provider ? provider.health().ready : undefined;
      if (kind === 'sherpa') {
        const model = speech.sherpaStt.model;
        return {
          name: displayName(model),
          languages: [...sttLanguages],
          installed: installed ?? this.onDisk(() => resolveSttModel(speech.sherpaStt, this.source.modelsDir)),
          description: findCatalogueModel(model)?.description ?? `sherpa-onnx streaming recognizer (${displayName(model)})`,
          attribution: SHERPA,
          provider,
        };
      }
      return {
        name: this.source.whisperModel,
        languages: [...WHISPER_LANGUAGES],
        installed: installed ?? this.source.groqConfigured,
        description: `Groq Whisper (${this.source.whisperModel}, cloud)`,
        attribution: GROQ,
        provider,
      };
    });
  }

  private ttsVoices(engines?: AttachedEngines): TtsVoiceEntry[] {
    const { speech } = this.source;
    if (engines && !(engines.tts instanceof FallbackTtsProvider)) return this.voicesOf(engines.tts, ESPEAK);
    const live = engines?.tts instanceof FallbackTtsProvider ? engines.tts.providers : [];
    return speech.tts.flatMap((kind): TtsVoiceEntry[] => {
      const provider = live.find((p) => p.name === kind);
      if (kind === 'espeak') {
        if (provider) return this.voicesOf(provider, ESPEAK);
        const voice = speech.espeak.voice;
        // Not started yet: the configured voice, not yet known to work.
        return [{ name: voice, languages: [normalizeLanguage(voice)], installed: false, description: `espeak-ng ${voice}`, attribution: ESPEAK, voiceId: () => voice }];
      }
      const label = speech.sherpaTts.voice;
      const ready = provider?.health().ready;
      const speakers = ready ? this.speakersOf(provider!, label) : undefined;
      return [
        {
          name: displayName(label),
          languages: this.sherpaVoiceLanguages(label),
          installed: ready ?? this.onDisk(() => resolveTtsModel(speech.sherpaTts, this.source.modelsDir, findEspeakDataDir(speech.espeak.dataDir))),
          description: findCatalogueModel(label)?.description ?? `sherpa-onnx voice ${displayName(label)}`,
          attribution: PIPER,
          speakers,
          provider,
          // Voices with many speakers list none; a speaker number still selects one.
          voiceId: (speaker) => (speaker !== undefined && /^\d+$/.test(speaker) ? `${label}:${speaker}` : label),
        },
      ];
    });
  }

  /** Every voice a started provider lists, each its own Wyoming voice. */
  private voicesOf(provider: TtsProvider, attribution: Attribution): TtsVoiceEntry[] {
    const ready = provider.health().ready;
    const seen = new Set<string>();
    return provider.voices().flatMap((voice) => {
      if (seen.has(voice.id)) return [];
      seen.add(voice.id);
      const languages = voice.language ? [normalizeLanguage(voice.language)] : [...this.source.sttLanguages];
      return [{ name: voice.id, languages, installed: ready, description: `${provider.name} ${voice.id}`, attribution, provider, voiceId: () => voice.id }];
    });
  }

  /** A loaded multi-speaker sherpa voice lists `<label>:<sid>`; Wyoming calls those speakers. */
  private speakersOf(provider: TtsProvider, label: string): string[] | undefined {
    const sids = provider
      .voices()
      .map((v) => v.id)
      .filter((id) => id.startsWith(`${label}:`))
      .map((id) => id.slice(label.length + 1));
    return sids.length > 0 ? sids : undefined;
  }

  /** From the voice's name, else from its model file's name, else the recognizer's languages. */
  private sherpaVoiceLanguages(label: string): string[] {
    let languages = this.voiceLanguages.get(label);
    if (!languages) {
      const fromName = PIPER_LANGUAGE.exec(displayName(label));
      const fromFile = fromName ? undefined : this.modelFiles(label).map((f) => PIPER_LANGUAGE.exec(f)).find(Boolean);
      const match = fromName ?? fromFile;
      languages = match ? [`${match[1]}_${match[2]}`] : [...this.source.sttLanguages];
      this.voiceLanguages.set(label, languages);
    }
    return languages;
  }

  private modelFiles(label: string): string[] {
    try {
      return readdirSync(locateModel(label, this.source.modelsDir).dir).filter((f) => f.endsWith('.onnx'));
    } catch {
      return [];
    }
  }

  private onDisk(resolve: () => unknown): boolean {
    try {
      resolve();
      return true;
    } catch {
      return false;
    }
  }
}
