/**
 * Mosquitto's accounts for the registered wearables, kept in step with the database
 * (`voxgate device mosquitto-passwd`, see docs/external-broker.md): a password file in Mosquitto's own format
 * (`username:$7$…`, as `mosquitto_passwd` writes it) made of the logins the user keeps with
 * `mosquitto_passwd` in an include file (the gateway, Home Assistant, …) followed by one line
 * per device, or the `logins:` list for Home Assistant's Mosquitto add-on.
 *
 * The whole file is written each time (to a temporary file renamed over the old one, so the
 * broker never reads half of it): `mosquitto_passwd` itself rejects comment lines, so a
 * voxgate-owned section inside a hand-kept file could not survive it. Mosquitto 2 re-reads the
 * file on SIGHUP and then disconnects every client whose login no longer checks out
 * (mosquitto_security_apply_default), which is what ends a removed or rotated device's connection.
 */
import { chownSync, closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../logger.ts';

/** A device and its token in `$7$` form (null: registered before voxgate kept one). */
export interface DeviceAccount {
  id: string;
  brokerHash: string | null;
}

export interface PasswordFilePlan {
  /** The file's text. */
  text: string;
  /** Logins taken from the include file, in order. */
  included: string[];
  /** Devices written with the hash from the database. */
  devices: string[];
  /** Devices without a hash in the database whose line in the existing file was kept. */
  kept: string[];
  /** Devices without a hash anywhere: they cannot log in until their token is rotated. */
  missing: string[];
}

/** One `user:hash` per line; blank lines, comments and lines without `:` are skipped, as Mosquitto does. */
export function parsePasswordFile(text: string): Map<string, string> {
  const logins = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    if (raw.startsWith('#')) continue;
    const colon = raw.indexOf(':');
    if (colon <= 0) continue;
    const username = raw.slice(0, colon).trim();
    const hash = raw.slice(colon + 1).trim();
    if (username && hash) logins.set(username, hash);
  }
  return logins;
}

export class AccountsError extends Error {
  override name = 'AccountsError';
}

/**
 * The password file for these devices. A device id that is also a login of the include file is
 * an error: with the `%u` pattern ACL, that login would speak as the device.
 */
export function planPasswordFile(devices: readonly DeviceAccount[], include: Map<string, string>, existing: Map<string, string>): PasswordFilePlan {
  const clashes = devices.filter((d) => include.has(d.id)).map((d) => d.id);
  if (clashes.length > 0) {
    throw new AccountsError(
      `device id(s) ${clashes.join(', ')} are also logins of the include file; a login named like a device acts as that device under the ACL: rename the login or remove the device`,
    );
  }
  const lines = [...include].map(([user, hash]) => `${user}:${hash}`);
  const plan: PasswordFilePlan = { text: '', included: [...include.keys()], devices: [], kept: [], missing: [] };
  for (const device of devices) {
    const hash = device.brokerHash ?? existing.get(device.id);
    if (!hash) {
      plan.missing.push(device.id);
      continue;
    }
    (device.brokerHash ? plan.devices : plan.kept).push(device.id);
    lines.push(`${device.id}:${hash}`);
  }
  plan.text = lines.map((line) => `${line}\n`).join('');
  return plan;
}

/**
 * Replaces `file` with `text` in one rename, keeping the old file's mode and (when allowed) its
 * owner, or at least its group (Mosquitto usually reads it through group `mosquitto`). A new
 * file is 0640: owner and group only, as the password file must not be world-readable.
 */
export function writeFileAtomically(file: string, text: string): void {
  let mode = 0o640;
  let owner: { uid: number; gid: number } | undefined;
  try {
    const old = statSync(file);
    mode = old.mode & 0o777;
    owner = { uid: old.uid, gid: old.gid };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  const fd = openSync(temporary, 'w', mode);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    // Mosquitto usually runs as its own user: the file must stay readable to it.
    if (owner && (owner.uid !== process.getuid?.() || owner.gid !== process.getgid?.())) {
      try {
        chownSync(temporary, owner.uid, owner.gid);
      } catch {
        try {
          chownSync(temporary, -1, owner.gid); // not root: a group we belong to is still allowed
        } catch {
          // Neither: the mode kept above is what there is.
        }
      }
    }
    renameSync(temporary, file);
  } catch (err) {
    rmSync(temporary, { force: true });
    throw err;
  }
}

/** Sends SIGHUP to the process in `pidFile` (Mosquitto's `pid_file`); returns its pid. */
export function signalReload(pidFile: string, kill: (pid: number, signal: NodeJS.Signals) => void = process.kill): number {
  const text = readFileSync(pidFile, 'utf8').trim();
  const pid = Number(text);
  if (!Number.isSafeInteger(pid) || pid <= 1) throw new AccountsError(`${pidFile} does not hold a process id (${JSON.stringify(text.slice(0, 20))})`);
  kill(pid, 'SIGHUP');
  return pid;
}

/** The `logins:` option of Home Assistant's Mosquitto add-on (mosquitto-go-auth reads `PBKDF2$sha512$…`). */
export function haAddonLogins(devices: ReadonlyArray<{ id: string; goAuthHash: string }>): string {
  if (devices.length === 0) return 'logins: []\n';
  return ['logins:', ...devices.flatMap((d) => [`  - username: ${d.id}`, `    password: "${d.goAuthHash}"`, '    password_pre_hashed: true'])].join('\n') + '\n';
}

export interface PasswordFileSync {
  /** The password file Mosquitto reads (`password_file`). */
  file: string;
  /** A file kept with `mosquitto_passwd` whose logins come first (the gateway's own, Home Assistant, …). */
  includeFile?: string | undefined;
  /** Mosquitto's `pid_file`: it is sent SIGHUP after the write. */
  pidFile?: string | undefined;
}

export interface PasswordFileSyncResult extends PasswordFilePlan {
  /** The process reloaded, when a pid file was given. */
  reloadedPid?: number;
  /** False when the file already held exactly this (nothing written, no reload). */
  written: boolean;
}

const readIfPresent = (file: string): string | undefined => {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
};

/** Writes the password file for `devices` (when it differs) and asks Mosquitto to re-read it. */
export function syncPasswordFile(devices: readonly DeviceAccount[], target: PasswordFileSync): PasswordFileSyncResult {
  const includeText = target.includeFile ? readIfPresent(target.includeFile) : '';
  if (includeText === undefined) throw new AccountsError(`include file ${target.includeFile} does not exist (create it with mosquitto_passwd -c)`);
  const current = readIfPresent(target.file);
  const plan = planPasswordFile(devices, parsePasswordFile(includeText), parsePasswordFile(current ?? ''));
  if (current === plan.text) return { ...plan, written: false };
  writeFileAtomically(target.file, plan.text);
  const reloadedPid = target.pidFile ? signalReload(target.pidFile) : undefined;
  return { ...plan, written: true, reloadedPid };
}

export interface PasswordFileKeeper extends PasswordFileSync {
  /** The registered devices now. */
  devices(): DeviceAccount[];
  logger: Logger;
}

/**
 * The running gateway's side: rewrites the password file now and whenever `sync()` is called
 * (on every device change). The first write fails loudly (a misconfigured path must stop the
 * start); later failures are logged and retried at the next change.
 */
export function keepPasswordFileInStep(keeper: PasswordFileKeeper): { sync(): void } {
  const log = keeper.logger.child({ component: 'mosquitto-accounts', file: keeper.file });
  const run = () => {
    const result = syncPasswordFile(keeper.devices(), keeper);
    if (result.missing.length > 0) log.warn({ devices: result.missing }, 'devices without a broker password cannot log in to mosquitto: rotate their tokens');
    if (result.written) {
      log.info({ devices: result.devices.length + result.kept.length, included: result.included.length, reloadedPid: result.reloadedPid }, 'mosquitto password file written');
    }
  };
  run();
  return {
    sync() {
      try {
        run();
      } catch (err) {
        log.error({ err }, 'could not update the mosquitto password file');
      }
    },
  };
}
