/** MAC addresses as stock xiaozhi firmware sends them (`Device-Id`): six lower-case hex bytes joined by colons. */

const SEPARATED = /^([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})$/;
const BARE = /^([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/;

/** `AA-BB-CC-DD-EE-FF`, `aabbccddeeff` or `aa:bb:…` → `aa:bb:cc:dd:ee:ff`; null when it is not a MAC. */
export function normalizeMac(value: string): string | null {
  if (typeof value !== 'string' || value.length > 32) return null;
  const lower = value.trim().toLowerCase();
  const match = SEPARATED.exec(lower) ?? BARE.exec(lower);
  return match ? match.slice(1, 7).join(':') : null;
}
