/**
 * `voxgate models list [--json] | pull <name...> | verify [name...]`: the speech models the
 * gateway knows (gateway/speech/models/catalogue.ts), downloaded, checked and loaded once.
 */
import type { Command } from 'commander';
import { findCatalogueModel, MODEL_CATALOGUE, modelDownloadUrl, type CatalogueModel } from '../speech/models/catalogue.ts';
import { pullModel } from '../speech/models/install.ts';
import { resolveModelsDir } from '../speech/models/paths.ts';
import { createProgressBar, formatBytes } from '../speech/models/progress-bar.ts';
import { modelStatus, verifyModel } from '../speech/models/verify.ts';
import { CliError, type CliContext, type CommandGroup } from './context.ts';

function catalogueEntry(name: string): CatalogueModel {
  const model = findCatalogueModel(name);
  if (!model) throw new CliError(`unknown model "${name}"; known: ${MODEL_CATALOGUE.map((m) => m.name).join(', ')}`);
  return model;
}

export const registerModelCommands: CommandGroup = (program: Command, context: CliContext) => {
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
          const result = await pullModel({ ...model, url: modelDownloadUrl(model, config.speech.modelsBaseUrl) }, dir, {
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
};
