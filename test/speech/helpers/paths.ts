/** The speech tests' data (test/fixtures/, inside the repository) and the system's espeak-ng data. */
import { execFileSync } from 'node:child_process';
import { isEspeakDataDir } from '../../../gateway/speech/espeak-data.ts';
import { requireProgram } from '../../helpers/system-programs.ts';

export { FIXTURE_MODELS_DIR, REPO_ROOT, SILERO_VAD_MODEL, SPEECH_60S_WAV, TTS_SAMPLES_DIR } from '../../helpers/fixture-paths.ts';

/**
 * The espeak-ng-data directory the installed espeak-ng reads (`espeak-ng --version` says
 * "Data at: …"): /usr/lib/<arch>/espeak-ng-data on Debian, whatever the architecture. Taken
 * from espeak-ng itself, not from the gateway's search, so the tests can check that search.
 */
export const SYSTEM_ESPEAK_DATA = systemEspeakData();

function systemEspeakData(): string {
  const version = execFileSync(requireProgram('espeak-ng', 'espeak-ng espeak-ng-data'), ['--version']).toString();
  const dir = /Data at:\s*(\S+)/.exec(version)?.[1];
  if (!dir || !isEspeakDataDir(dir)) {
    throw new Error(`espeak-ng reports no usable data directory (${version.trim()}): run \`sudo apt-get install espeak-ng-data\``);
  }
  return dir;
}
