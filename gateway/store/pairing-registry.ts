/**
 * Pairing of stock xiaozhi firmware (docs/xiaozhi.md): an unknown device asking the OTA
 * endpoint gets a 6-digit code, which it shows and speaks; a person claims it with
 * `voxgate device claim <code>`, in another process, so the codes live in SQLite.
 * A code expires after its time to live and works once; failed claims are rate limited
 * across processes (a 6-digit code must not be guessable by trying them all).
 *
 * A device is bound to the `Client-Id` (a UUID the firmware keeps in flash) it presented
 * when it was paired; its MAC alone (broadcast on the air) never yields credentials.
 */
import { randomInt } from 'node:crypto';
import type { SqliteDatabase } from './database.ts';
import type { DeviceRegistry } from './device-registry.ts';
import { StoreError } from './errors.ts';
import { normalizeMac } from './mac.ts';
import type { DeviceRecord } from './types.ts';

/** How long a code can be claimed (the 10 minutes). */
export const PAIRING_CODE_TTL_MS = 10 * 60_000;
/** Failed claims allowed per window, across every process; then claims are refused until the window passes. */
export const CLAIM_FAILURE_LIMIT = 5;
export const CLAIM_FAILURE_WINDOW_MS = 60_000;
/** Unclaimed codes at once; the OTA endpoint is open to the LAN and must not fill the disk. */
export const MAX_PENDING_CODES = 100;
/** Claimed and expired codes are kept this long past expiry, so reusing one is explained, not "unknown". */
const KEEP_AFTER_EXPIRY_MS = 24 * 60 * 60_000;
const MAX_LABEL_LENGTH = 100;
const CODE_PATTERN = /^\d{6}$/;

export interface PairingCode {
  code: string;
  mac: string;
  clientId: string;
  /** What the device said it is (board name), shown to the person claiming. */
  label: string;
  createdAt: number;
  expiresAt: number;
}

export interface ClaimedDevice {
  device: DeviceRecord;
  mac: string;
  /** True when the MAC was already registered (a re-flashed device paired again): same id and history. */
  repaired: boolean;
}

export type ActivationState = 'activated' | 'pending' | 'none';

export interface PairingOptions {
  ttlMs?: number;
  failureLimit?: number;
  failureWindowMs?: number;
}

interface CodeRow {
  code: string;
  mac: string;
  client_id: string | null;
  label: string;
  created_at: number;
  expires_at: number;
  claimed_at: number | null;
}

type ClaimOutcome = { ok: true; claimed: ClaimedDevice } | { ok: false; error: StoreError };

export class PairingRegistry {
  private readonly ttlMs: number;
  private readonly failureLimit: number;
  private readonly failureWindowMs: number;
  private readonly statements;

  constructor(
    private readonly db: SqliteDatabase,
    private readonly devices: DeviceRegistry,
    private readonly now: () => number = Date.now,
    options: PairingOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? PAIRING_CODE_TTL_MS;
    this.failureLimit = options.failureLimit ?? CLAIM_FAILURE_LIMIT;
    this.failureWindowMs = options.failureWindowMs ?? CLAIM_FAILURE_WINDOW_MS;
    this.statements = {
      pendingFor: db.prepare<[string, string, number], CodeRow>(
        'SELECT * FROM pairing_codes WHERE mac = ? AND client_id = ? AND claimed_at IS NULL AND expires_at > ? ORDER BY created_at DESC LIMIT 1',
      ),
      pendingCount: db.prepare<[number], { n: number }>('SELECT count(*) AS n FROM pairing_codes WHERE claimed_at IS NULL AND expires_at > ?'),
      byCode: db.prepare<[string], CodeRow>('SELECT * FROM pairing_codes WHERE code = ?'),
      insert: db.prepare(
        'INSERT INTO pairing_codes (code, mac, client_id, label, created_at, expires_at) VALUES (@code, @mac, @clientId, @label, @createdAt, @expiresAt)',
      ),
      markClaimed: db.prepare('UPDATE pairing_codes SET claimed_at = ?, device_id = ? WHERE code = ?'),
      purge: db.prepare('DELETE FROM pairing_codes WHERE expires_at < ?'),
      failures: db.prepare<[number], { n: number; first: number | null }>('SELECT count(*) AS n, min(at) AS first FROM pairing_claim_failures WHERE at > ?'),
      addFailure: db.prepare('INSERT INTO pairing_claim_failures (at) VALUES (?)'),
      purgeFailures: db.prepare('DELETE FROM pairing_claim_failures WHERE at <= ?'),
      clientId: db.prepare<[string], { client_id: string | null }>('SELECT client_id FROM devices WHERE id = ?'),
      bindClientId: db.prepare('UPDATE devices SET client_id = ? WHERE id = ?'),
    };
  }

  /**
   * The code a device should show: its pending one while it is valid (the firmware asks again
   * on every boot and retry), else a new one. Throws `rate_limited` when too many are pending.
   */
  codeFor(mac: string, clientId: string, label: string): PairingCode {
    const normalized = checkMac(mac);
    const cleanLabel = label.replace(/[\u0000-\u001f\u007f]/g, '').trim().slice(0, MAX_LABEL_LENGTH) || 'xiaozhi';
    return this.db.transaction((): PairingCode => {
      const t = this.now();
      this.statements.purge.run(t - KEEP_AFTER_EXPIRY_MS);
      const pending = this.statements.pendingFor.get(normalized, clientId, t);
      if (pending) return toCode(pending);
      if (this.statements.pendingCount.get(t)!.n >= MAX_PENDING_CODES) {
        throw new StoreError('rate_limited', `${MAX_PENDING_CODES} pairing codes are already waiting to be claimed`);
      }
      for (;;) {
        const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
        if (this.statements.byCode.get(code)) continue; // live or remembered: never hand out the same code twice
        const row = { code, mac: normalized, clientId, label: cleanLabel, createdAt: t, expiresAt: t + this.ttlMs };
        this.statements.insert.run(row);
        return { ...row };
      }
    }).immediate();
  }

  /** What `POST /xiaozhi/ota/activate` answers: activated (200), waiting for a claim (202) or nothing to wait for. */
  activationState(mac: string, clientId: string): ActivationState {
    const normalized = normalizeMac(mac);
    if (normalized === null) return 'none';
    const device = this.devices.getByMac(normalized);
    if (device && this.clientIdOf(device.id) === clientId) return 'activated';
    return this.statements.pendingFor.get(normalized, clientId, this.now()) ? 'pending' : 'none';
  }

  /**
   * Registers the device that shows `code` (or binds an already registered MAC to the device's
   * new Client-Id). Throws StoreError: `rate_limited`, `unknown_code`, `used_code`, `expired_code`.
   */
  claim(code: string, name?: string): ClaimedDevice {
    const outcome = this.db.transaction((): ClaimOutcome => {
      const t = this.now();
      this.statements.purgeFailures.run(t - this.failureWindowMs);
      const failures = this.statements.failures.get(t - this.failureWindowMs)!;
      if (failures.n >= this.failureLimit) {
        const waitS = Math.max(1, Math.ceil(((failures.first ?? t) + this.failureWindowMs - t) / 1000));
        return { ok: false, error: new StoreError('rate_limited', `too many failed claims: try again in ${waitS} s`) };
      }
      const fail = (error: StoreError): ClaimOutcome => {
        this.statements.addFailure.run(t);
        return { ok: false, error };
      };
      const row = CODE_PATTERN.test(code) ? this.statements.byCode.get(code) : undefined;
      if (!row) return fail(new StoreError('unknown_code', `no pairing code ${JSON.stringify(code)}: read the 6 digits the device shows`));
      if (row.claimed_at !== null) return fail(new StoreError('used_code', `pairing code ${code} was already used`));
      if (row.expires_at <= t) return fail(new StoreError('expired_code', `pairing code ${code} has expired: restart the device for a new one`));
      const existing = this.devices.getByMac(row.mac);
      const device = existing ?? this.devices.add(this.freeId(row.mac), name ?? row.label, { mac: row.mac }).device;
      this.statements.bindClientId.run(row.client_id, device.id);
      this.statements.markClaimed.run(t, device.id, code);
      return { ok: true, claimed: { device, mac: row.mac, repaired: existing !== undefined } };
    }).immediate();
    if (!outcome.ok) throw outcome.error;
    return outcome.claimed;
  }

  /** The Client-Id a device is bound to: null before its first OTA request (pre-registered), undefined for no such device. */
  clientIdOf(deviceId: string): string | null | undefined {
    return this.statements.clientId.get(deviceId)?.client_id;
  }

  /** Binds a pre-registered device to the Client-Id of its first OTA request (trust on first use). */
  bindClientId(deviceId: string, clientId: string): void {
    this.statements.bindClientId.run(clientId, deviceId);
  }

  /** `xiaozhi-aabbccddeeff`, or with a suffix when a device already has that id. */
  private freeId(mac: string): string {
    const base = `xiaozhi-${mac.replaceAll(':', '')}`;
    for (let n = 1; ; n++) {
      const id = n === 1 ? base : `${base}-${n}`;
      if (!this.devices.get(id)) return id;
    }
  }
}

function checkMac(mac: string): string {
  const normalized = normalizeMac(mac);
  if (normalized === null) throw new StoreError('invalid_mac', `invalid MAC address ${JSON.stringify(mac)}`);
  return normalized;
}

function toCode(row: CodeRow): PairingCode {
  return {
    code: row.code,
    mac: row.mac,
    clientId: row.client_id ?? '',
    label: row.label,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
  };
}
