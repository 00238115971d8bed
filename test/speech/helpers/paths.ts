/** Where the shared fixtures are: ../shared beside the repository root (not the cwd). */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const SHARED_DIR = path.resolve(REPO_ROOT, '../shared');
export const FIXTURE_MODELS_DIR = path.join(SHARED_DIR, 'models/fixtures');
export const ASR_FIXTURE_DIR = path.join(FIXTURE_MODELS_DIR, 'streaming-zipformer2-tiny');
export const TTS_FIXTURE_DIR = path.join(FIXTURE_MODELS_DIR, 'piper-tiny');
export const SILERO_VAD_MODEL = path.join(SHARED_DIR, 'models/silero-vad/silero_vad.onnx');
export const SPEECH_60S_WAV = path.join(SHARED_DIR, 'audio/speech-60s/speech-60s.wav');
export const TTS_SAMPLES_DIR = path.join(SHARED_DIR, 'audio/tts-samples');
/** Debian's espeak-ng-data (package espeak-ng-data), which sherpa's piper phonemizer reads. */
export const DEBIAN_ESPEAK_DATA = '/usr/lib/x86_64-linux-gnu/espeak-ng-data';
