/**
 * First start: the configured catalogue models that are not installed yet (the default STT
 * model, Silero VAD, the default voice) are downloaded in the background, one at a time,
 * through the same verified install as `voxgate models pull`. The gateway is ready meanwhile
 * (fallbacks serve); progress goes to the log and to /health, and each model is handed to
 * `onInstalled` so the engines can start using it. Offline, one warning names the command
 * that installs them by hand. `speech.autoPull = false` (VOXGATE_AUTO_PULL=off) does nothing.
 */
import type { Logger } from '../../logger.ts';
import type { SpeechConfig } from '../speech-config.ts';
import { findCatalogueModel, installCommand, modelDownloadUrl, type CatalogueModel } from './catalogue.ts';
import { DownloadError } from './download.ts';
import { pullModel, type PullOptions } from './install.ts';
import { resolveModelsDir } from './paths.ts';
import { modelStatus } from './verify.ts';

/** Stopping waits this long at most for a pull to notice (an extraction or load test cannot be interrupted). */
const STOP_WAIT_MS = 5_000;
/** Progress is logged at most every this many percent of a download. */
export const PROGRESS_LOG_STEP_PERCENT = 10;

export type ModelPullState = 'waiting' | 'downloading' | 'verifying' | 'installed' | 'failed' | 'skipped';

export interface ModelPullStatus {
  name: string;
  kind: CatalogueModel['kind'];
  state: ModelPullState;
  receivedBytes?: number;
  totalBytes?: number;
  /** 0–100 while downloading, when the server says how big it is. */
  percent?: number;
  error?: string;
}

export interface AutoPullReport {
  /** `off`: disabled; `idle`: nothing was missing; `pulling`; `done`; `offline`: no server reachable; `failed`: some model failed. */
  state: 'off' | 'idle' | 'pulling' | 'done' | 'offline' | 'failed';
  models: ModelPullStatus[];
  /** The command that installs what is still missing, when something is. */
  command?: string;
}

export interface AutoPullOptions {
  config: { dataDir: string; speech: SpeechConfig };
  logger: Logger;
  /** Called once a model is installed (the engines adopt it). */
  onInstalled?: (model: CatalogueModel) => Promise<void> | void;
}

export interface AutoPull {
  report(): AutoPullReport;
  /** Resolves when every pull has ended (installed, failed or stopped). */
  readonly done: Promise<void>;
  /** Aborts a download in progress and starts no more. */
  stop(): Promise<void>;
}

/** The configured models that come from the catalogue and are not installed, in the order they are pulled. */
export function missingDefaultModels(config: AutoPullOptions['config']): CatalogueModel[] {
  const { speech } = config;
  const modelsDir = resolveModelsDir(config);
  const wanted: Array<string | undefined> = [
    // The recogniser first (the reason to pull at all), then the VAD (small), then the voice (espeak-ng speaks meanwhile).
    speech.stt.includes('sherpa') && Object.values(speech.sherpaStt.files).every((f) => f === undefined) ? speech.sherpaStt.model : undefined,
    speech.vad.model === undefined ? 'silero-vad' : undefined,
    speech.tts.includes('sherpa') && Object.values(speech.sherpaTts.files).every((f) => f === undefined) ? speech.sherpaTts.voice : undefined,
  ];
  return wanted
    .map((name) => (name === undefined ? undefined : findCatalogueModel(name)))
    .filter((model): model is CatalogueModel => model !== undefined && !modelStatus(model, modelsDir).installed);
}

export function startAutoPull(o: AutoPullOptions): AutoPull {
  const log = o.logger.child({ component: 'models' });
  const models = o.config.speech.autoPull ? missingDefaultModels(o.config) : [];
  const statuses: ModelPullStatus[] = models.map((m) => ({ name: m.name, kind: m.kind, state: 'waiting' }));
  const controller = new AbortController();
  let state: AutoPullReport['state'] = !o.config.speech.autoPull ? 'off' : models.length === 0 ? 'idle' : 'pulling';

  const pending = () => statuses.filter((s) => s.state !== 'installed').map((s) => s.name);
  const report = (): AutoPullReport => {
    const missing = pending();
    return { state, models: statuses.map((s) => ({ ...s })), ...(missing.length > 0 && state !== 'pulling' ? { command: installCommand(...missing) } : {}) };
  };

  async function pullOne(model: CatalogueModel, status: ModelPullStatus, modelsDir: string): Promise<'installed' | 'failed' | 'offline'> {
    let loggedPercent = -PROGRESS_LOG_STEP_PERCENT;
    const options: PullOptions = {
      signal: controller.signal,
      loadTimeoutMs: o.config.speech.modelLoadTimeoutMs,
      onStep: (step) => {
        status.state = step === 'download' ? 'downloading' : 'verifying';
        if (step === 'download') log.info({ model: model.name }, 'downloading a speech model');
      },
      onProgress: ({ received, total }) => {
        status.receivedBytes = received;
        status.totalBytes = total;
        if (total === undefined) return;
        status.percent = Math.floor((received / total) * 100);
        if (status.percent >= loggedPercent + PROGRESS_LOG_STEP_PERCENT) {
          loggedPercent = status.percent - (status.percent % PROGRESS_LOG_STEP_PERCENT);
          log.info({ model: model.name, percent: loggedPercent, receivedBytes: received, totalBytes: total }, 'speech model download progress');
        }
      },
    };
    try {
      const result = await pullModel({ ...model, url: modelDownloadUrl(model, o.config.speech.modelsBaseUrl) }, modelsDir, options);
      status.state = 'installed';
      log.info({ model: model.name, dir: result.dir, bytes: result.bytes }, 'speech model installed');
      return 'installed';
    } catch (err) {
      status.state = 'failed';
      status.error = (err as Error).message;
      if (controller.signal.aborted) return 'failed';
      if (err instanceof DownloadError && err.unreachable) return 'offline';
      log.warn({ model: model.name, err: status.error, install: installCommand(model.name) }, `speech model download failed; install it later with: ${installCommand(model.name)}`);
      return 'failed';
    }
  }

  const done = (async () => {
    if (state === 'off' || state === 'idle') return;
    const modelsDir = resolveModelsDir(o.config);
    log.info({ models: models.map((m) => m.name), modelsDir }, 'downloading the default speech models in the background');
    let failed = false;
    for (const [index, model] of models.entries()) {
      if (controller.signal.aborted) break;
      const status = statuses[index]!;
      const outcome = await pullOne(model, status, modelsDir);
      if (outcome === 'offline') {
        for (const rest of statuses.slice(index + 1)) rest.state = 'skipped';
        state = 'offline';
        const command = installCommand(...pending());
        // Once, not once per model: they all come from the same place.
        log.warn({ err: status.error, install: command }, `cannot download the speech models (offline?); install them later with: ${command}`);
        return;
      }
      if (outcome === 'failed') {
        failed = true;
        continue;
      }
      if (controller.signal.aborted) break; // stopping: the engines are closing
      try {
        await o.onInstalled?.(model);
      } catch (err) {
        log.error({ err, model: model.name }, 'could not start using a downloaded model; it is used after a restart');
      }
    }
    if (controller.signal.aborted) return;
    state = failed ? 'failed' : 'done';
    if (!failed) log.info({ models: models.map((m) => m.name) }, 'default speech models installed');
  })();

  return {
    report,
    done,
    async stop() {
      controller.abort(new Error('gateway stopping'));
      // The download stops at once; an extraction or load test in progress is not waited for long.
      await Promise.race([done, new Promise((resolve) => setTimeout(resolve, STOP_WAIT_MS).unref())]);
    },
  };
}
