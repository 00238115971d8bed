/**
 * The `info` answer to `describe` (wyoming/info.py): one `asr` program whose `models` are
 * the recognizers, one `tts` program whose `voices` (not `models`: the code and Home
 * Assistant read `voices`) are the voices. Every artifact carries all of Artifact's fields
 * (name, attribution, installed, description, version): older wyoming libraries fail to
 * parse an info that leaves a required one out, which would break Home Assistant's setup.
 */
import type { SpeechCatalog } from './wyoming-catalog.ts';

/** `url` is required; voxgate has no public home to point at (each model names its own source). */
const PROGRAM_ATTRIBUTION = { name: 'voxgate', url: '' };

export function infoData(catalog: SpeechCatalog): Record<string, unknown> {
  const models = catalog.stt.map((m) => ({
    name: m.name,
    attribution: m.attribution,
    installed: m.installed,
    description: m.description,
    version: null,
    languages: m.languages,
  }));
  const voices = catalog.tts.map((v) => ({
    name: v.name,
    attribution: v.attribution,
    installed: v.installed,
    description: v.description,
    version: null,
    languages: v.languages,
    speakers: v.speakers ? v.speakers.map((name) => ({ name })) : null,
  }));
  return {
    asr: [
      {
        name: 'voxgate',
        attribution: PROGRAM_ATTRIBUTION,
        installed: models.some((m) => m.installed),
        description: 'voxgate speech-to-text',
        version: null,
        models,
        supports_transcript_streaming: catalog.sttStreaming,
        // Home Assistant's own VAD ends the audio; voxgate does not stop listening by itself here.
        requires_external_vad: true,
      },
    ],
    tts: [
      {
        name: 'voxgate',
        attribution: PROGRAM_ATTRIBUTION,
        installed: voices.some((v) => v.installed),
        description: 'voxgate text-to-speech',
        version: null,
        voices,
        // Text chunks are split into sentences and each is spoken as soon as it is complete.
        supports_synthesize_streaming: true,
      },
    ],
    handle: [],
    intent: [],
    wake: [],
    mic: [],
    snd: [],
  };
}
