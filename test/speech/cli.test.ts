/**
 * The speech commands, run in-process through commander exactly as `voxgate` runs them:
 * transcribe (with resampling), say, models list/verify/pull.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { CliError, type CliContext } from '../../gateway/cli/context.ts';
import { loadConfig } from '../../gateway/config.ts';
import { registerModelCommands } from '../../gateway/cli/models.ts';
import { registerSpeechCommands } from '../../gateway/cli/speech.ts';
import { decodeWav } from '../../audio/wav.ts';
import { fixtureModels } from '../fixtures/speech-fixtures.ts';
import { useTempDirs } from '../helpers/temp-dir.ts';
import { SILERO_VAD_MODEL, TTS_SAMPLES_DIR } from './helpers/paths.ts';

const tempDir = useTempDirs('speech-cli');

async function voxgate(args: string[], env: Record<string, string>) {
  let stdout = '';
  let stderr = '';
  const context: CliContext = {
    io: { env, stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t) },
    config: () => loadConfig({ env }),
  };
  const program = new Command('voxgate').exitOverride().configureOutput({ writeOut: context.io.stdout, writeErr: context.io.stderr });
  registerModelCommands(program, context);
  registerSpeechCommands(program, context);
  let error: unknown;
  try {
    await program.parseAsync(args, { from: 'user' });
  } catch (err) {
    error = err;
  }
  return { stdout, stderr, error };
}

/** The fixture transducer installed under the catalogue name of the default model. */
function installFixtureAsDefaultModel(modelsDir: string): string {
  const dir = path.join(modelsDir, 'sherpa-onnx-streaming-zipformer-en-20M-2023-02-17');
  mkdirSync(dir, { recursive: true });
  for (const part of ['encoder', 'decoder', 'joiner']) copyFileSync(path.join(fixtureModels().asr, `${part}.onnx`), path.join(dir, `${part}-epoch-99-avg-1.onnx`));
  copyFileSync(path.join(fixtureModels().asr, 'tokens.txt'), path.join(dir, 'tokens.txt'));
  return dir;
}

describe('voxgate transcribe', () => {
  it('transcribes a 22.05 kHz WAV (resampled to 16 kHz) with the installed sherpa model, as JSON', async () => {
    const modelsDir = tempDir();
    installFixtureAsDefaultModel(modelsDir);
    const file = path.join(TTS_SAMPLES_DIR, 'armstrong-piper-en_US-lessac-medium.wav');
    const source = decodeWav(readFileSync(file));
    const { stdout, error } = await voxgate(['transcribe', file, '--json'], { VOXGATE_MODELS_DIR: modelsDir, VOXGATE_STT: 'sherpa', VOXGATE_VAD_MODEL: SILERO_VAD_MODEL });
    expect(error).toBeUndefined();
    const result = JSON.parse(stdout) as { text: string; provider: string; seconds: number; partials: number };
    expect(result.provider).toBe('sherpa');
    expect(result.text.length).toBeGreaterThan(0);
    expect(result.seconds).toBeCloseTo(source.samples.length / source.sampleRate, 1);
  });

  it('says which command installs the missing model', async () => {
    const { error } = await voxgate(['transcribe', path.join(TTS_SAMPLES_DIR, 'mms-eng.wav')], { VOXGATE_DATA_DIR: tempDir(), VOXGATE_STT: 'sherpa' });
    expect(error).toBeInstanceOf(CliError);
    expect((error as Error).message).toMatch(/install: voxgate models pull sherpa-onnx-streaming-zipformer-en-20M-2023-02-17/);
  });

  it('refuses a file that is not a WAV', async () => {
    const file = path.join(tempDir(), 'x.wav');
    writeFileSync(file, 'hello');
    const { error } = await voxgate(['transcribe', file], { VOXGATE_DATA_DIR: tempDir() });
    expect((error as Error).message).toMatch(/not a WAV file/);
  });
});

describe('voxgate say', () => {
  it('writes a 16-bit WAV with espeak-ng on a fresh install (no voice model), in the chosen voice', async () => {
    const out = path.join(tempDir(), 'hello.wav');
    const { stderr, error } = await voxgate(['say', 'Hello from the gateway.', '--out', out, '--voice', 'en-gb'], { VOXGATE_DATA_DIR: tempDir() });
    expect(error).toBeUndefined();
    const wav = decodeWav(readFileSync(out));
    expect(wav.sampleRate).toBe(22050);
    expect(wav.samples.length / wav.sampleRate).toBeGreaterThan(0.5);
    expect(stderr).toMatch(/wrote .*hello\.wav/);
  });

  it('uses the sherpa voice when one is configured, and honours --speed', async () => {
    const dir = tempDir();
    const env = { VOXGATE_DATA_DIR: dir, VOXGATE_TTS: 'sherpa', VOXGATE_TTS_VOICE: fixtureModels().tts };
    await voxgate(['say', 'Hello there.', '--out', path.join(dir, 'a.wav')], env);
    await voxgate(['say', 'Hello there.', '--out', path.join(dir, 'b.wav'), '--speed', '2'], env);
    const a = decodeWav(readFileSync(path.join(dir, 'a.wav')));
    const b = decodeWav(readFileSync(path.join(dir, 'b.wav')));
    expect(a.sampleRate).toBe(22050);
    expect(b.samples.length).toBe(a.samples.length / 2);
  });
});

describe('voxgate models', () => {
  it('lists the catalogue with what is installed', async () => {
    const modelsDir = tempDir();
    installFixtureAsDefaultModel(modelsDir);
    const { stdout } = await voxgate(['models', 'list', '--json'], { VOXGATE_MODELS_DIR: modelsDir });
    const listed = JSON.parse(stdout) as { modelsDir: string; models: Array<{ name: string; installed: boolean; kind: string; url: string }> };
    expect(listed.modelsDir).toBe(modelsDir);
    const byName = Object.fromEntries(listed.models.map((m) => [m.name, m]));
    expect(byName['sherpa-onnx-streaming-zipformer-en-20M-2023-02-17']).toMatchObject({ installed: true, kind: 'stt' });
    expect(byName['vits-piper-en_US-amy-low']).toMatchObject({ installed: false, kind: 'tts', url: 'https://github.com/k2-fsa/sherpa-onnx/releases/download/tts-models/vits-piper-en_US-amy-low.tar.bz2' });
    for (const name of ['sherpa-onnx-streaming-zipformer-en-2023-06-26', 'vits-piper-en_US-lessac-medium', 'silero-vad']) expect(byName[name]).toBeDefined();
    const text = await voxgate(['models', 'list'], { VOXGATE_MODELS_DIR: modelsDir });
    expect(text.stdout).toMatch(/sherpa-onnx-streaming-zipformer-en-20M-2023-02-17\s+installed/);
  });

  it('verifies installed models by loading them, and fails a broken one', async () => {
    const modelsDir = tempDir();
    const dir = installFixtureAsDefaultModel(modelsDir);
    const ok = await voxgate(['models', 'verify'], { VOXGATE_MODELS_DIR: modelsDir });
    expect(ok.error).toBeUndefined();
    expect(ok.stdout).toMatch(/^ok {3}sherpa-onnx-streaming-zipformer-en-20M-2023-02-17$/m);
    writeFileSync(path.join(dir, 'joiner-epoch-99-avg-1.onnx'), 'not onnx');
    const bad = await voxgate(['models', 'verify'], { VOXGATE_MODELS_DIR: modelsDir });
    expect(bad.stdout).toMatch(/^FAIL sherpa-onnx-streaming-zipformer-en-20M-2023-02-17: does not load/m);
    expect(bad.error).toBeInstanceOf(CliError);
  });

  it('refuses to pull a model it does not know', async () => {
    const { error } = await voxgate(['models', 'pull', 'no-such-model'], { VOXGATE_DATA_DIR: tempDir() });
    expect((error as Error).message).toMatch(/unknown model "no-such-model"; known: sherpa-onnx-streaming-zipformer-en-20M-2023-02-17/);
  });
});
