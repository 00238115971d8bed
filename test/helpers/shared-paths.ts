/** Where the shared fixtures are: ../shared beside the repository root (never the cwd, never an absolute path). */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const SHARED_DIR = path.resolve(REPO_ROOT, '../shared');
export const SHARED_AUDIO_DIR = path.join(SHARED_DIR, 'audio');
export const TTS_SAMPLES_DIR = path.join(SHARED_AUDIO_DIR, 'tts-samples');
export const SPEECH_60S_WAV = path.join(SHARED_AUDIO_DIR, 'speech-60s/speech-60s.wav');
export const FIXTURE_MODELS_DIR = path.join(SHARED_DIR, 'models/fixtures');
export const SILERO_VAD_MODEL = path.join(SHARED_DIR, 'models/silero-vad/silero_vad.onnx');
