/**
 * Debian's Chromium driven by playwright-core (never `npx playwright install`): headless,
 * with a fake microphone that plays a WAV file and no prompts for the microphone.
 */
import { chromium, type Browser } from 'playwright-core';
import { requireProgram } from '../../helpers/system-programs.ts';

export async function launchChromium(fakeMicWav: string): Promise<Browser> {
  return chromium.launch({
    executablePath: requireProgram('chromium', 'chromium'),
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
      `--use-file-for-fake-audio-capture=${fakeMicWav}`,
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
}
