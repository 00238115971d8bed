/**
 * A download progress bar on stderr: redrawn in place on a terminal, one line per 10 %
 * otherwise (logs and CI stay readable).
 */
import type { DownloadProgress } from './download.ts';

/** Redraws at most this often: a fast download must not spend its time printing. */
const REDRAW_INTERVAL_MS = 100;
const BAR_WIDTH = 30;

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

export function createProgressBar(write: (text: string) => void, label: string, isTty: boolean) {
  const started = Date.now();
  let lastDraw = 0;
  let lastDecile = -1;
  let drawn = false;
  const line = ({ received, total }: DownloadProgress) => {
    const seconds = Math.max(0.001, (Date.now() - started) / 1000);
    const rate = `${formatBytes(received / seconds)}/s`;
    if (!total) return `${label} ${formatBytes(received)} ${rate}`;
    const fraction = Math.min(1, received / total);
    const filled = Math.round(fraction * BAR_WIDTH);
    return `${label} [${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% ${formatBytes(received)}/${formatBytes(total)} ${rate}`;
  };
  return {
    update(progress: DownloadProgress): void {
      if (isTty) {
        const now = Date.now();
        if (now - lastDraw < REDRAW_INTERVAL_MS && progress.received !== progress.total) return;
        lastDraw = now;
        drawn = true;
        write(`\r${line(progress)}\x1b[K`);
        return;
      }
      const decile = progress.total ? Math.floor((progress.received / progress.total) * 10) : Math.floor(progress.received / (10 * 1024 * 1024));
      if (decile !== lastDecile) {
        lastDecile = decile;
        write(`${line(progress)}\n`);
      }
    },
    done(): void {
      if (isTty && drawn) write('\n');
    },
  };
}
