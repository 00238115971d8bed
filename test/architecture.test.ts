/**
 * Nothing imports upward: a room (gateway/<room>/) and the shared modules beside the rooms
 * (logger.ts, providers.ts, groq-config.ts …) never import the composition: gateway/config.ts,
 * gateway/app.ts or the CLI (gateway/cli/). Those hand each room the config sections it needs.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const GATEWAY = path.join(REPO_ROOT, 'gateway');
/** The composition: it may import every room; no room may import it. */
const COMPOSITION = [path.join(GATEWAY, 'config.ts'), path.join(GATEWAY, 'app.ts'), path.join(GATEWAY, 'cli')];
/** Modules outside gateway/ that the rooms build on; they must not reach into the composition either. */
const BELOW_THE_ROOMS = ['protocol', 'audio'].map((dir) => path.join(REPO_ROOT, dir));

const isComposition = (file: string) => COMPOSITION.some((entry) => file === entry || file.startsWith(`${entry}${path.sep}`));

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return name === 'node_modules' ? [] : tsFiles(full);
    return name.endsWith('.ts') ? [full] : [];
  });
}

/** Every module specifier of static imports, re-exports and dynamic imports. */
function importSpecifiers(source: string): string[] {
  const found: string[] = [];
  const patterns = [/\b(?:import|export)\s[^'";]*?\bfrom\s*['"]([^'"]+)['"]/g, /\bimport\s*['"]([^'"]+)['"]/g, /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g];
  for (const pattern of patterns) for (const match of source.matchAll(pattern)) found.push(match[1]!);
  return found;
}

/** `from` → the module file it names (relative specifiers only; packages are not ours). */
function resolveSpecifier(fromFile: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  return path.resolve(path.dirname(fromFile), specifier);
}

/**
 * "gateway/session/x.ts imports ../config.ts" for each import of the composition under
 * `roots`; the composition's own files are skipped unless `includeComposition`.
 */
function upwardImports(roots: readonly string[], includeComposition = false): string[] {
  const offences: string[] = [];
  for (const root of roots) {
    if (!existsSync(root)) continue;
    for (const file of tsFiles(root)) {
      if (isComposition(file) && !includeComposition) continue;
      for (const specifier of importSpecifiers(readFileSync(file, 'utf8'))) {
        const target = resolveSpecifier(file, specifier);
        if (target && isComposition(target)) offences.push(`${path.relative(REPO_ROOT, file)} imports ${specifier}`);
      }
    }
  }
  return offences;
}

describe('architecture: nothing imports upward', () => {
  it('finds import specifiers of every form it checks', () => {
    const source = [
      "import type { Config } from '../config.ts';",
      "import {\n  a,\n  b,\n} from './cli/program.ts';",
      "export * from '../app.ts';",
      "import './side-effect.ts';",
      "const { startGateway } = await import('../app.ts');",
    ].join('\n');
    expect(importSpecifiers(source)).toEqual(['../config.ts', './cli/program.ts', '../app.ts', './side-effect.ts', '../app.ts']);
  });

  it('no room or shared module imports gateway/config.ts, gateway/app.ts or gateway/cli/', () => {
    expect(upwardImports([GATEWAY, ...BELOW_THE_ROOMS])).toEqual([]);
  });

  it('sees such imports where they are allowed: the CLI imports config.ts and app.ts', () => {
    // The same check over the CLI (exempt by design) proves it is not passing for lack of resolving anything.
    const cli = upwardImports([path.join(GATEWAY, 'cli')], true);
    expect(cli).toContain(`${path.join('gateway', 'cli', 'program.ts')} imports ../config.ts`);
    expect(cli).toContain(`${path.join('gateway', 'cli', 'start.ts')} imports ../app.ts`);
  });
});
