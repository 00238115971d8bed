/**
 * The browser console in real headless Chromium: sign in with a device token, hold the talk
 * button while the (fake) microphone plays a WAV, release, and hear the reply to its end —
 * against a whole gateway with fake engines.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeWavPcm16 } from '../../audio/wav.ts';
import { rms } from '../audio/signal.ts';
import { DEFAULT_FAKE_REPLY } from '../fakes/fake-responder.ts';
import { FakeStt, fakeWords } from '../fakes/fake-stt.ts';
import { fakeTtsDurationMs } from '../fakes/fake-tts.ts';
import { useTempDirs } from '../helpers/temp-dir.ts';
import { launchChromium } from './helpers/chromium.ts';
import { startTestGateway, type TestGateway } from './helpers/test-gateway.ts';

const tempDir = useTempDirs('http-console');
const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

/** Speech-like bursts (syllables of a 220 Hz buzz with harmonics), loud enough for FakeStt's 200 ms blocks. */
function fakeMicWav(dir: string): string {
  const rate = 48000;
  const samples = new Float32Array(rate * 4);
  for (let i = 0; i < samples.length; i++) {
    const t = i / rate;
    const envelope = 0.6 + 0.4 * Math.sin(2 * Math.PI * 3 * t);
    samples[i] = 0.25 * envelope * (Math.sin(2 * Math.PI * 220 * t) + 0.5 * Math.sin(2 * Math.PI * 440 * t) + 0.25 * Math.sin(2 * Math.PI * 660 * t));
  }
  const file = path.join(dir, 'mic.wav');
  writeFileSync(file, encodeWavPcm16(samples, rate));
  return file;
}

// Functions run in the page (Playwright serializes them; under the console's CSP, strings
// would not evaluate). This project's TypeScript has no DOM types, hence these two helpers:
// they are declared here for the type checker and defined inside the page by addInitScript.
declare function dom(): any;
declare function pageText(id: string): string;
const PAGE_HELPERS = () => {
  const scope = globalThis as Record<string, unknown>;
  scope.dom = () => (globalThis as Record<string, unknown>).document;
  scope.pageText = (id: string) => (scope.dom as () => { getElementById(id: string): { textContent: string } | null })().getElementById(id)?.textContent ?? '';
};

/** The cells of a table's body, row by row. */
async function tableRows(page: Page, table: string): Promise<string[][]> {
  const rows = page.locator(`${table} tbody tr`);
  const out: string[][] = [];
  for (let i = 0; i < (await rows.count()); i++) out.push(await rows.nth(i).locator('td').allTextContents());
  return out;
}

async function signIn(page: Page, g: TestGateway): Promise<void> {
  await page.goto(`${g.baseUrl}/`);
  await page.fill('#device-id', g.device.id);
  await page.fill('#token', g.device.token);
  await page.click('#sign-in-button');
  await page.waitForSelector('body[data-state="ready"]');
}

describe('console in Chromium', { timeout: 120_000 }, () => {
  it('a whole push-to-talk turn: press, partials, release, final, reply text, reply audio played, timings, device list', async () => {
    const g = await startTestGateway(tempDir());
    cleanup.push(() => g.stop());
    const browser: Browser = await launchChromium(fakeMicWav(tempDir()));
    cleanup.push(() => browser.close());
    const page = await browser.newPage();
    await page.addInitScript(PAGE_HELPERS);
    const pageErrors: string[] = [];
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(`${message.text()} (${message.location().url})`);
    });

    await signIn(page, g);
    expect(await page.textContent('#status')).toBe(`connected as ${g.device.id}`);

    // Hold the button until the gateway has heard three words, then let go.
    const button = page.locator('#talk-button');
    await button.hover();
    await page.mouse.down();
    await page.waitForSelector('body[data-state="listening"]');
    await page.waitForFunction((words) => pageText('partial').startsWith(words), fakeWords(3), { timeout: 30_000 });
    await page.mouse.up();

    await page.waitForFunction(() => pageText('turn-status') === 'done', undefined, { timeout: 30_000 });
    const final = (await page.textContent('#final')) ?? '';
    expect(final.startsWith(fakeWords(3))).toBe(true);
    expect(await page.textContent('#reply')).toBe(DEFAULT_FAKE_REPLY.join(' '));
    // Every reply packet was played to its end (the gateway pads the last frame of each sentence).
    const playedMs = Number(await page.getAttribute('#turn-status', 'data-played-ms'));
    const spokenMs = DEFAULT_FAKE_REPLY.reduce((sum, sentence) => sum + fakeTtsDurationMs(sentence), 0);
    expect(playedMs).toBeGreaterThanOrEqual(spokenMs);
    expect(playedMs).toBeLessThan(spokenMs + 2 * 60 + 1);
    expect(await page.getAttribute('body', 'data-state')).toBe('ready');

    // The microphone really reached the recognizer: 16 kHz PCM with the signal in it.
    const heard = (g.stt as FakeStt).lastStream!.samples();
    expect(heard.length).toBeGreaterThan(16000 * 0.6);
    expect(rms(heard)).toBeGreaterThan(0.02);

    // Timings: measured in the page, and the gateway's own once the device list has the turn.
    await page.waitForFunction(() => {
      const rows: Array<{ children: Array<{ textContent: string }> }> = Array.from(dom().querySelectorAll('#timings tbody tr'));
      return rows.some((row) => row.children[0]!.textContent === 'release → first reply audio' && /ms$/.test(row.children[2]!.textContent));
    });
    const table = Object.fromEntries((await tableRows(page, '#timings')).map(([stage, here, gateway]) => [stage, { here, gateway }]));
    for (const stage of ['held the button', 'release → final transcript', 'release → first reply audio', 'release → reply played to the end']) {
      expect(table[stage]?.here, stage).toMatch(/^\d+ ms$/);
    }
    expect(table['release → final transcript']?.gateway).toMatch(/^\d+ ms$/);
    expect(table['reply audio played']?.here).toBe(`${Math.round(playedMs)} ms`);

    // The device list (signed in with the device token: only this device).
    const rows = await tableRows(page, '#device-list');
    expect(rows).toHaveLength(1);
    expect(rows[0]![0]).toBe(`Console (${g.device.id})`);
    expect(rows[0]![1]).toMatch(/^online \(websocket, (idle|speaking)\)$/);
    expect(rows[0]![2]).toContain(`completed: “${final}”`);

    expect(pageErrors).toEqual([]);
  });

  it('a wrong token is refused with a message, and nothing else breaks', async () => {
    const g = await startTestGateway(tempDir());
    cleanup.push(() => g.stop());
    const browser = await launchChromium(fakeMicWav(tempDir()));
    cleanup.push(() => browser.close());
    const page = await browser.newPage();
    await page.addInitScript(PAGE_HELPERS);
    await page.goto(`${g.baseUrl}/`);
    await page.fill('#device-id', g.device.id);
    await page.fill('#token', 'not-the-token');
    await page.click('#sign-in-button');
    await page.waitForFunction(() => pageText('error').startsWith('Could not connect'));
    expect(await page.getAttribute('body', 'data-state')).toBe('signed-out');
    expect(await page.isHidden('#talk')).toBe(true);
    // the console's files carry a same-origin content security policy
    const response = await fetch(`${g.baseUrl}/console.js`);
    expect(response.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(response.headers.get('content-security-policy')).toContain("default-src 'self'");
  });
});
