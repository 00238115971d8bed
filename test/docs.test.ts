/**
 * The documentation stays usable: the README is a short map, every relative link in the README,
 * docs/ and firmware-notes/ reaches an existing file (and heading), and docs/configuration.md
 * names every environment variable the configuration reads.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ENV_VARS } from '../gateway/config.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const README = path.join(ROOT, 'README.md');
const DOCS_DIR = path.join(ROOT, 'docs');
/** The README is what voxgate is, the two commands, a quick start and a map; the reference lives in docs/. */
const MAX_README_LINES = 250;

const read = (file: string) => readFileSync(file, 'utf8');
const markdownIn = (dir: string) =>
  readdirSync(dir)
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => path.join(dir, name));

/** Fenced code blocks hold shell comments and YAML, not headings or links. */
function withoutFences(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
}

/** GitHub's heading anchors: lower case, punctuation dropped, each space a hyphen, repeats numbered. */
function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const match of withoutFences(markdown).matchAll(/^#{1,6}[ \t]+(.+?)[ \t#]*$/gm)) {
    const slug = match[1]!
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

/** Targets of inline links `[text](target)` outside code, minus absolute URLs. */
function relativeLinks(markdown: string): string[] {
  const text = withoutFences(markdown).replace(/`[^`\n]*`/g, '');
  return [...text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)]
    .map((match) => match[1]!)
    .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target));
}

/** Every link in `markdown` (the text of `file`) that does not reach an existing file, or a heading of the linked markdown file. */
function brokenLinks(markdown: string, file: string): string[] {
  const broken: string[] = [];
  for (const link of relativeLinks(markdown)) {
    const [target = '', anchor] = link.split('#', 2);
    const resolved = target === '' ? file : path.resolve(path.dirname(file), decodeURIComponent(target));
    const linked = target === '' ? markdown : undefined;
    const where = `${path.relative(ROOT, file)}: ${link}`;
    if (!existsSync(resolved)) {
      broken.push(`${where} (no such file)`);
      continue;
    }
    if (anchor !== undefined && resolved.endsWith('.md') && statSync(resolved).isFile()) {
      if (!headingAnchors(linked ?? read(resolved)).has(anchor)) broken.push(`${where} (no such heading)`);
    }
  }
  return broken;
}

describe('documentation', () => {
  it(`README.md is at most ${MAX_README_LINES} lines`, () => {
    const lines = read(README).replace(/\n$/, '').split('\n').length;
    expect(lines).toBeLessThanOrEqual(MAX_README_LINES);
  });

  it('README.md links every page of docs/', () => {
    const links = new Set(relativeLinks(read(README)).map((link) => path.resolve(ROOT, link.split('#')[0]!)));
    const unlinked = markdownIn(DOCS_DIR).filter((page) => !links.has(page));
    expect(unlinked.map((page) => path.relative(ROOT, page))).toEqual([]);
  });

  it('every relative link in README.md, docs/ and firmware-notes/ reaches an existing file and heading', () => {
    const files = [README, ...markdownIn(DOCS_DIR), ...markdownIn(path.join(ROOT, 'firmware-notes'))];
    expect(files.length).toBeGreaterThan(10);
    expect(files.flatMap((file) => brokenLinks(read(file), file))).toEqual([]);
  });

  it('docs/configuration.md names every environment variable of the configuration', () => {
    const page = read(path.join(DOCS_DIR, 'configuration.md'));
    const names = Object.keys(ENV_VARS);
    expect(names.length).toBeGreaterThan(50);
    const missing = names.filter((name) => !new RegExp(`\\b${name}\\b`).test(page));
    expect(missing).toEqual([]);
  });

  it('the link checker notices a missing file and a missing heading', () => {
    // The checks above must be able to fail: a link checker that finds nothing proves nothing.
    expect(headingAnchors('## 3.1 Device → gateway\n## Errors and limits\n## Errors and limits\n')).toEqual(
      new Set(['31-device--gateway', 'errors-and-limits', 'errors-and-limits-1']),
    );
    expect(relativeLinks('[a](docs/x.md#y) `[b](c.md)` [d](https://example.com)\n```\n[e](f.md)\n```\n')).toEqual(['docs/x.md#y']);
    const sample = '# Top\n[gone](docs/no-such-page.md) [bad](docs/protocol.md#99-nothing) [ok](docs/protocol.md#13-mqtt-audio-frame) [here](#top) [not here](#bottom)\n';
    expect(brokenLinks(sample, README)).toEqual([
      'README.md: docs/no-such-page.md (no such file)',
      'README.md: docs/protocol.md#99-nothing (no such heading)',
      'README.md: #bottom (no such heading)',
    ]);
  });
});
