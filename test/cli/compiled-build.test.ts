/**
 * What ships is the compiled JavaScript in dist/ (`npm run build`, run by `npm test` and by
 * `npm install` as `prepare`): the bins run it with plain node, and its speech workers start
 * as .js modules, without the tsx loader the tests use for the sources.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodeWav } from '../../audio/wav.ts';
import { siblingModuleUrl } from '../../gateway/speech/workers/speech-worker.ts';
import { fixtureModels } from '../fixtures/speech-fixtures.ts';
import { useTempDirs } from '../helpers/temp-dir.ts';
import { runVoxgate } from './run-voxgate.ts';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DIST = path.join(REPO_ROOT, 'dist');
const tempDir = useTempDirs('compiled-build');

function jsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return jsFiles(full);
    return entry.name.endsWith('.js') ? [full] : [];
  });
}

describe('the compiled build', () => {
  it('holds every shipped room, with JavaScript-only relative imports', () => {
    for (const room of ['protocol', 'audio', 'gateway', 'device-sim']) expect(readdirSync(path.join(DIST, room)).length).toBeGreaterThan(0);
    const tsImports = jsFiles(DIST).flatMap((file) =>
      [...readFileSync(file, 'utf8').matchAll(/(?:from\s+|import\()\s*['"](\.{1,2}\/[^'"]+\.ts)['"]/g)].map((m) => `${path.relative(DIST, file)}: ${m[1]}`),
    );
    expect(tsImports).toEqual([]);
  });

  it('carries the browser console beside the compiled HTTP room', () => {
    expect(readdirSync(path.join(DIST, 'gateway/http/console'))).toEqual(expect.arrayContaining(['index.html', 'console.js', 'mic-worklet.js']));
  });

  it('names worker modules by the caller’s own extension', () => {
    const compiled = pathToFileURL(path.join(DIST, 'gateway/speech/sherpa/sherpa-tts.js')).href;
    expect(siblingModuleUrl(compiled, 'tts-worker').pathname).toMatch(/\/dist\/gateway\/speech\/sherpa\/tts-worker\.js$/);
    expect(siblingModuleUrl(import.meta.url, 'x').pathname).toMatch(/\/test\/cli\/x\.ts$/);
  });

  it('runs `voxgate say` from bin/ with a sherpa voice in a compiled worker thread', async () => {
    const dir = tempDir();
    const out = path.join(dir, 'hello.wav');
    const result = await runVoxgate(['say', 'Hello there.', '--out', out], { VOXGATE_DATA_DIR: dir, VOXGATE_TTS: 'sherpa', VOXGATE_TTS_VOICE: fixtureModels().tts });
    expect(result.stderr).toMatch(/wrote .*hello\.wav/);
    expect(result.code).toBe(0);
    const wav = decodeWav(readFileSync(out));
    expect(wav.sampleRate).toBe(22050);
    expect(wav.samples.length).toBeGreaterThan(0);
  });
});
