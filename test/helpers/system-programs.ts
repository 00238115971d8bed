/**
 * The Debian programs some tests drive for real (Chromium, Mosquitto, espeak-ng), found on
 * the PATH like a shell would. Daemons such as mosquitto live in /usr/sbin, which a normal
 * user's PATH often lacks, so /usr/sbin and /sbin are searched too. A missing program is an
 * error that says what to install: those tests fail, they are never skipped.
 */
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';

const SBIN_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

/** The executable `name` from the PATH (then the sbin directories), or undefined. */
export function findProgram(name: string, searchPath = process.env.PATH ?? ''): string | undefined {
  const dirs = [...searchPath.split(path.delimiter).filter(Boolean), ...SBIN_DIRS];
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The executable `name`, or an error naming the Debian package that provides it. */
export function requireProgram(name: string, debianPackage: string): string {
  const found = findProgram(name);
  if (!found) {
    throw new Error(`${name} is not installed (looked on the PATH and in ${SBIN_DIRS.join(', ')}): run \`sudo apt-get install ${debianPackage}\``);
  }
  return found;
}
