/** Where the shared fixtures are: ../shared beside the repository root (not the cwd). */
import path from 'node:path';
import { FIXTURE_MODELS_DIR } from '../../helpers/shared-paths.ts';

export { FIXTURE_MODELS_DIR, REPO_ROOT, SHARED_DIR, SILERO_VAD_MODEL, SPEECH_60S_WAV, TTS_SAMPLES_DIR } from '../../helpers/shared-paths.ts';
export const ASR_FIXTURE_DIR = path.join(FIXTURE_MODELS_DIR, 'streaming-zipformer2-tiny');
export const TTS_FIXTURE_DIR = path.join(FIXTURE_MODELS_DIR, 'piper-tiny');
/** Debian's espeak-ng-data (package espeak-ng-data), which sherpa's piper phonemizer reads. */
export const DEBIAN_ESPEAK_DATA = '/usr/lib/x86_64-linux-gnu/espeak-ng-data';
