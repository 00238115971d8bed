/**
 * The model manager against a loopback HTTP server serving archives built by the test
 * (`tar cjf` of the fixture models): a good pull installs atomically and loads; corrupt,
 * truncated and incomplete downloads fail clearly and leave nothing half-installed.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CatalogueModel } from '../../gateway/speech/models/catalogue.ts';
import { pullModel } from '../../gateway/speech/models/install.ts';
import { modelStatus, verifyModel } from '../../gateway/speech/models/verify.ts';
import { copyModel, fixtureModels } from '../fixtures/speech-fixtures.ts';
import { useTempDirs } from '../helpers/temp-dir.ts';
import { startArchiveServer, tarBz2, type ArchiveServer } from './helpers/archive-server.ts';
import { SILERO_VAD_MODEL } from './helpers/paths.ts';

let server: ArchiveServer;
let routes: ArchiveServer['routes'];
let base = '';

beforeAll(async () => {
  server = await startArchiveServer();
  routes = server.routes;
  base = server.base;
});
afterAll(() => server.close());

const tempDir = useTempDirs('models');
const serve = (route: string, body: Buffer) => server.serve(route, body);

/** A .tar.bz2 whose top-level directory is `name`, holding a copy of the fixture ASR model. */
function buildArchive(name: string, omit?: string): Buffer {
  const work = tempDir();
  copyModel(fixtureModels().asr, work, name);
  if (omit) execFileSync('rm', [path.join(work, name, omit)]);
  return tarBz2(work, name);
}

function sttEntry(name: string, route: string, extra: Partial<CatalogueModel> = {}): CatalogueModel {
  return {
    name,
    kind: 'stt',
    description: 'test model',
    url: `${base}${route}`,
    archive: 'tar.bz2',
    sttType: 'transducer',
    requiredFiles: ['encoder.onnx', 'decoder.onnx', 'joiner.onnx', 'tokens.txt'],
    ...extra,
  };
}

/** Nothing but the installed models: no work directories left behind. */
const entries = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);

describe('models pull', () => {
  it('downloads, extracts, load-tests and installs a .tar.bz2 model, reporting progress', async () => {
    const archive = buildArchive('tiny-asr');
    serve('/asr/tiny-asr.tar.bz2', archive);
    const modelsDir = tempDir();
    const progress: Array<{ received: number; total?: number }> = [];
    const steps: string[] = [];
    const result = await pullModel(sttEntry('tiny-asr', '/asr/tiny-asr.tar.bz2'), modelsDir, {
      onProgress: (p) => progress.push(p),
      onStep: (s) => steps.push(s),
      loadTimeoutMs: 60_000,
    });
    expect(result).toMatchObject({ dir: path.join(modelsDir, 'tiny-asr'), bytes: archive.length, replaced: false });
    expect(steps).toEqual(['download', 'verify', 'extract', 'load-test', 'install']);
    expect(progress.at(-1)).toEqual({ received: archive.length, total: archive.length });
    expect(entries(modelsDir)).toEqual(['tiny-asr']);
    expect(readFileSync(path.join(modelsDir, 'tiny-asr', 'tokens.txt'))).toEqual(readFileSync(path.join(fixtureModels().asr, 'tokens.txt')));
    expect((await verifyModel(sttEntry('tiny-asr', '/x'), modelsDir, 60_000)).problem).toBeUndefined();
  });

  it('follows redirects (release assets are served from elsewhere)', async () => {
    serve('/real/tiny.tar.bz2', buildArchive('tiny-redirected'));
    routes.set('/release/tiny.tar.bz2', (_req, res) => {
      res.writeHead(302, { location: `${base}/real/tiny.tar.bz2` });
      res.end();
    });
    const modelsDir = tempDir();
    await pullModel(sttEntry('tiny-redirected', '/release/tiny.tar.bz2'), modelsDir, { loadTimeoutMs: 0 });
    expect(entries(modelsDir)).toEqual(['tiny-redirected']);
  });

  it('refuses a corrupt download (not bzip2) and installs nothing', async () => {
    serve('/corrupt.tar.bz2', Buffer.from('<html>this is an error page, not an archive</html>'.repeat(50)));
    const modelsDir = tempDir();
    await expect(pullModel(sttEntry('corrupt', '/corrupt.tar.bz2'), modelsDir, { loadTimeoutMs: 0 })).rejects.toThrow(/corrupt or incomplete archive/);
    expect(entries(modelsDir)).toEqual([]);
  });

  it('refuses a download whose checksum differs, before extracting anything', async () => {
    const archive = buildArchive('checked');
    archive[archive.length - 10] = archive[archive.length - 10]! ^ 0xff; // one flipped byte
    serve('/checked.tar.bz2', archive);
    const modelsDir = tempDir();
    const steps: string[] = [];
    await expect(
      pullModel(sttEntry('checked', '/checked.tar.bz2', { sha256: '0'.repeat(64) }), modelsDir, { loadTimeoutMs: 0, onStep: (s) => steps.push(s) }),
    ).rejects.toThrow(/checksum mismatch/);
    expect(steps).toEqual(['download', 'verify']);
    expect(entries(modelsDir)).toEqual([]);
  });

  it('detects a truncated download (connection closed before Content-Length) and installs nothing', async () => {
    const archive = buildArchive('truncated');
    routes.set('/truncated.tar.bz2', (_req, res) => {
      res.writeHead(200, { 'content-length': archive.length });
      res.write(archive.subarray(0, Math.floor(archive.length / 2)));
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const modelsDir = tempDir();
    await expect(pullModel(sttEntry('truncated', '/truncated.tar.bz2'), modelsDir, { loadTimeoutMs: 0 })).rejects.toThrow(/download truncated: got \d+ of \d+ bytes/);
    expect(entries(modelsDir)).toEqual([]);
  });

  it('detects a truncated archive even without Content-Length', async () => {
    const archive = buildArchive('cut');
    routes.set('/cut.tar.bz2', (_req, res) => {
      res.writeHead(200); // chunked, no length announced
      res.end(archive.subarray(0, Math.floor(archive.length * 0.6)));
    });
    const modelsDir = tempDir();
    await expect(pullModel(sttEntry('cut', '/cut.tar.bz2'), modelsDir, { loadTimeoutMs: 0 })).rejects.toThrow(/corrupt or incomplete|lacks/);
    expect(entries(modelsDir)).toEqual([]);
  });

  it('refuses an archive that lacks a required file, and reports HTTP errors', async () => {
    serve('/incomplete.tar.bz2', buildArchive('incomplete', 'joiner.onnx'));
    const modelsDir = tempDir();
    await expect(pullModel(sttEntry('incomplete', '/incomplete.tar.bz2'), modelsDir, { loadTimeoutMs: 0 })).rejects.toThrow(/lacks joiner\.onnx/);
    await expect(pullModel(sttEntry('gone', '/no-such-file'), modelsDir, { loadTimeoutMs: 0 })).rejects.toThrow(/HTTP 404/);
    expect(entries(modelsDir)).toEqual([]);
  });

  it('keeps an installed model when a re-pull fails, and replaces it when one succeeds', async () => {
    const modelsDir = tempDir();
    serve('/keep.tar.bz2', buildArchive('keep'));
    await pullModel(sttEntry('keep', '/keep.tar.bz2'), modelsDir, { loadTimeoutMs: 0 });
    writeFileSync(path.join(modelsDir, 'keep', 'marker'), 'old');
    serve('/keep-bad.tar.bz2', Buffer.from('garbage'.repeat(100)));
    await expect(pullModel(sttEntry('keep', '/keep-bad.tar.bz2'), modelsDir, { loadTimeoutMs: 0 })).rejects.toThrow();
    expect(existsSync(path.join(modelsDir, 'keep', 'marker'))).toBe(true);
    const result = await pullModel(sttEntry('keep', '/keep.tar.bz2'), modelsDir, { loadTimeoutMs: 60_000 });
    expect(result.replaced).toBe(true);
    expect(existsSync(path.join(modelsDir, 'keep', 'marker'))).toBe(false);
    expect(entries(modelsDir)).toEqual(['keep']);
  });

  it('refuses an archive that is complete but does not load (corrupt ONNX inside)', async () => {
    const work = tempDir();
    copyModel(fixtureModels().asr, work, 'bad-onnx');
    writeFileSync(path.join(work, 'bad-onnx', 'encoder.onnx'), 'not onnx at all');
    execFileSync('tar', ['cjf', path.join(work, 'a.tar.bz2'), '-C', work, 'bad-onnx']);
    serve('/bad-onnx.tar.bz2', readFileSync(path.join(work, 'a.tar.bz2')));
    const modelsDir = tempDir();
    await expect(pullModel(sttEntry('bad-onnx', '/bad-onnx.tar.bz2'), modelsDir, { loadTimeoutMs: 60_000 })).rejects.toThrow(/does not load/);
    expect(entries(modelsDir)).toEqual([]);
  });

  it('installs a single-file model (Silero VAD) and verifies it, checksum included', async () => {
    const bytes = readFileSync(SILERO_VAD_MODEL);
    serve('/silero_vad.onnx', bytes);
    const sha256 = execFileSync('sha256sum', [SILERO_VAD_MODEL]).toString().split(' ')[0]!;
    const entry: CatalogueModel = {
      name: 'silero-vad',
      kind: 'vad',
      description: 'vad',
      url: `${base}/silero_vad.onnx`,
      archive: 'file',
      fileName: 'silero_vad.onnx',
      requiredFiles: ['silero_vad.onnx'],
      sha256,
      bytes: bytes.length,
    };
    const modelsDir = tempDir();
    await pullModel(entry, modelsDir, { loadTimeoutMs: 60_000 });
    expect(readFileSync(path.join(modelsDir, 'silero-vad', 'silero_vad.onnx')).equals(bytes)).toBe(true);
    expect(modelStatus(entry, modelsDir)).toMatchObject({ installed: true, missing: [], bytes: bytes.length });
    expect((await verifyModel(entry, modelsDir, 60_000)).problem).toBeUndefined();
    writeFileSync(path.join(modelsDir, 'silero-vad', 'silero_vad.onnx'), bytes.subarray(0, 1000));
    expect((await verifyModel(entry, modelsDir, 60_000)).problem).toMatch(/checksum mismatch/);
  });
});
