/** What the store-backed command groups (device, apikey, service) share: the store for one command, times, tables. */
import { openStore, type Store } from '../store/index.ts';
import type { CliIo } from './context.ts';

/** Opens the store for one command and always closes it. */
export function withStore<T>(config: { dataDir: string }, use: (store: Store) => T): T {
  const store = openStore(config.dataDir);
  try {
    return use(store);
  } finally {
    store.close();
  }
}

/** A time for JSON output (null stays null). */
export const isoTime = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** A time for people: "2026-11-21 07:30:00Z", or `none` when there is none. */
export const humanTime = (ms: number | null, none: string): string =>
  ms === null ? none : new Date(ms).toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, 'Z');

/** Prints rows as left-aligned columns (the first row is the header). */
export function printTable(io: CliIo, table: string[][]): void {
  const widths = table[0]!.map((_, column) => Math.max(...table.map((row) => row[column]!.length)));
  for (const row of table) io.stdout(`${row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()}\n`);
}
