/**
 * Speech commands of the `voxgate` CLI:
 *   voxgate models list [--json] | pull <name...> | verify [name...]
 *   voxgate transcribe FILE.wav [--json] [--language L]
 *   voxgate say "TEXT" --out FILE.wav [--voice V] [--speed S]
 * Registered by cli-program.ts through `registerSpeechCommands`.
 */
import { readFile, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { pino } from 'pino';
import { resample } from '../../audio/resampler.ts';
import { CliError, type CliContext, type CommandGroup } from '../cli-context.ts';
import type { Config } from '../config.ts';
import { createLogger, type Logger } from '../logger.ts';
import { createSttEngine, createTtsEngine } from './engines.ts';
import { findCatalogueModel, MODEL_CATALOGUE, type CatalogueModel } from './models/catalogue.ts';
import { pullModel } from './models/install.ts';
import { resolveModelsDir } from './models/paths.ts';
import { createProgressBar, formatBytes } from './models/progress-bar.ts';
import { modelStatus, verifyModel } from './models/verify.ts';
import { STT_SAMPLE_RATE } from './types.ts';
import { decodeWav, encodeWavPcm16 } from '../../audio/wav.ts';

/** Push audio to the recognizer in pieces like a device would (100 ms), so streaming providers stream. */
const TRANSCRIBE_CHUNK_SAMPLES = STT_SAMPLE_RATE / 10;

/** CLI logs go to stderr (stdout is the command's answer); `info` chatter is hidden unless asked for. */
function cliLogger(config: Config): Logger {
  const level = config.logLevel === 'info' ? 'warn' : config.logLevel;
  return createLogger(level, pino.destination({ fd: 2, sync: true }));
}

function catalogueEntry(name: string): CatalogueModel {
  const model = findCatalogueModel(name);
  if (!model) throw new CliError(`unknown model "${name}"; known: ${MODEL_CATALOGUE.map((m) => m.name).join(', ')}`);
  return model;
}

export function registerModelCommands(program: Command, context: CliContext): void {
  const { io } = context;
  const models = program.command('models').description('list, download and verify speech models');

  models
    .command('list')
    .description('known models and which are installed')
    .option('--json', 'machine-readable output')
    .action(function (this: Command, flags: { json?: boolean }) {
      const config = context.config(this);
      const dir = resolveModelsDir(config);
      const rows = MODEL_CATALOGUE.map((m) => ({ ...modelStatus(m, dir), kind: m.kind, description: m.description, url: m.url }));
      if (flags.json) {
        io.stdout(`${JSON.stringify({ modelsDir: dir, models: rows })}\n`);
        return;
      }
      io.stdout(`models directory: ${dir}\n`);
      for (const row of rows) {
        const state = row.installed ? `installed ${formatBytes(row.bytes ?? 0)}` : row.missing.length < (findCatalogueModel(row.name)?.requiredFiles.length ?? 0) ? `incomplete (missing ${row.missing.join(', ')})` : 'not installed';
        io.stdout(`  ${row.kind.padEnd(4)} ${row.name.padEnd(52)} ${state}\n         ${row.description}\n`);
      }
      io.stdout('install one with: voxgate models pull <name>\n');
    });

  models
    .command('pull')
    .description('download, verify and install models')
    .argument('<names...>', 'catalogue names (see `voxgate models list`)')
    .option('--no-load-test', 'skip loading the model once after download')
    .action(async function (this: Command, names: string[], flags: { loadTest: boolean }) {
      const config = context.config(this);
      const dir = resolveModelsDir(config);
      for (const name of names) {
        const model = catalogueEntry(name);
        const bar = createProgressBar(io.stderr, name, Boolean(process.stderr.isTTY));
        try {
          const result = await pullModel(model, dir, {
            onProgress: (p) => bar.update(p),
            onStep: (step) => {
              if (step !== 'download') io.stderr(`${name}: ${step}\n`);
            },
            loadTimeoutMs: flags.loadTest ? config.speech.modelLoadTimeoutMs : 0,
          });
          bar.done();
          io.stdout(`${result.replaced ? 'replaced' : 'installed'} ${name} in ${result.dir} (${formatBytes(result.bytes)}, sha256 ${result.sha256})\n`);
        } catch (err) {
          bar.done();
          throw new CliError(`${name}: ${(err as Error).message} (nothing was installed)`);
        }
      }
    });

  models
    .command('verify')
    .description('check installed models: files present, checksum where known, and that they load')
    .argument('[names...]', 'catalogue names (default: every installed one)')
    .action(async function (this: Command, names: string[]) {
      const config = context.config(this);
      const dir = resolveModelsDir(config);
      const targets = names.length ? names.map(catalogueEntry) : MODEL_CATALOGUE.filter((m) => modelStatus(m, dir).installed);
      if (targets.length === 0) {
        io.stdout(`no models installed in ${dir}; install one with: voxgate models pull <name>\n`);
        return;
      }
      let bad = 0;
      for (const model of targets) {
        const status = await verifyModel(model, dir, config.speech.modelLoadTimeoutMs);
        const ok = status.installed && !status.problem;
        if (!ok) bad++;
        const why = !status.installed ? `not installed (missing ${status.missing.join(', ')})` : status.problem;
        io.stdout(`${ok ? 'ok  ' : 'FAIL'} ${model.name}${why ? `: ${why}` : ''}\n`);
      }
      if (bad) throw new CliError(`${bad} model(s) failed verification; reinstall with: voxgate models pull <name>`);
    });
}

export function registerSpeechCommands(program: Command, context: CliContext): void {
  const { io } = context;
  registerModelCommands(program, context);

  program
    .command('transcribe')
    .description('transcribe a WAV file with the configured STT providers')
    .argument('<file>', 'WAV file (any rate; mixed down to mono, resampled to 16 kHz)')
    .option('--json', 'print {"text","provider","seconds","partials"} as JSON')
    .option('--language <code>', 'language hint for providers that take one (e.g. en)')
    .action(async function (this: Command, file: string, flags: { json?: boolean; language?: string }) {
      const config = context.config(this);
      let wav;
      try {
        wav = decodeWav(await readFile(file));
      } catch (err) {
        throw new CliError(`${file}: ${(err as Error).message}`);
      }
      const samples = wav.sampleRate === STT_SAMPLE_RATE ? wav.samples : await resample(wav.samples, wav.sampleRate, STT_SAMPLE_RATE);
      const stt = await createSttEngine(config, cliLogger(config));
      try {
        const health = stt.health();
        if (!health.ready) throw new CliError(`no STT provider is ready: ${health.detail}${health.install ? `\n  install: ${health.install}` : ''}`);
        let partials = 0;
        const stream = stt.createStream({ signal: new AbortController().signal, language: flags.language, onPartial: () => partials++ });
        for (let i = 0; i < samples.length; i += TRANSCRIBE_CHUNK_SAMPLES) stream.push(samples.subarray(i, i + TRANSCRIBE_CHUNK_SAMPLES));
        const { text } = await stream.finish();
        const provider = stt.lastFallback ? stt.lastFallback.to : stt.providers.find((p) => p.health().ready)?.name;
        if (flags.json) io.stdout(`${JSON.stringify({ text, provider, seconds: samples.length / STT_SAMPLE_RATE, partials })}\n`);
        else io.stdout(`${text}\n`);
      } finally {
        await stt.close();
      }
    });

  program
    .command('say')
    .description('speak text into a WAV file with the configured TTS providers')
    .argument('<text>', 'what to say')
    .requiredOption('--out <file>', 'WAV file to write (16-bit mono at the voice\'s rate)')
    .option('--voice <voice>', 'a voice id (see the health output; e.g. en-us for espeak-ng)')
    .option('--speed <factor>', '1 = normal pace', (v) => Number(v))
    .action(async function (this: Command, text: string, flags: { out: string; voice?: string; speed?: number }) {
      const config = context.config(this);
      if (flags.speed !== undefined && !(flags.speed > 0)) throw new CliError('--speed must be a positive number');
      const tts = await createTtsEngine(config, cliLogger(config));
      try {
        const health = tts.health();
        if (!health.ready) throw new CliError(`no TTS provider is ready: ${health.detail}${health.install ? `\n  install: ${health.install}` : ''}`);
        const audio = await tts.synthesize(text, { signal: new AbortController().signal, voice: flags.voice, speed: flags.speed });
        await writeFile(flags.out, encodeWavPcm16(audio.samples, audio.sampleRate));
        io.stderr(`wrote ${flags.out}: ${(audio.samples.length / audio.sampleRate).toFixed(2)} s at ${audio.sampleRate} Hz\n`);
      } catch (err) {
        if (err instanceof CliError) throw err;
        throw new CliError((err as Error).message);
      } finally {
        await tts.close();
      }
    });
}

/** The same function, typed as the CLI's command group (for cli-program.ts's list). */
export const speechCommandGroup: CommandGroup = registerSpeechCommands;
