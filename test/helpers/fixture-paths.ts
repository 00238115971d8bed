/**
 * Where the tests' data is: test/fixtures/ inside the repository (see its README.md), found
 * from this file, never from the cwd, and never outside the clone.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const FIXTURES_DIR = path.join(REPO_ROOT, 'test', 'fixtures');

export const FIXTURE_AUDIO_DIR = path.join(FIXTURES_DIR, 'audio');
/** Five English TTS utterances of 3.5–15 s (22050 Hz and 16 kHz), transcripts in trans.txt. */
export const TTS_SAMPLES_DIR = path.join(FIXTURE_AUDIO_DIR, 'tts-samples');
/** 60 s of real English speech with pauses, 16 kHz mono. */
export const SPEECH_60S_WAV = path.join(FIXTURE_AUDIO_DIR, 'speech-60s', 'speech-60s.wav');

export const FIXTURE_MODELS_DIR = path.join(FIXTURES_DIR, 'models');
/** The real Silero VAD (v6.2). */
export const SILERO_VAD_MODEL = path.join(FIXTURE_MODELS_DIR, 'silero-vad', 'silero_vad.onnx');
