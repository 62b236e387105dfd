// The system's Chromium driven by playwright-core: renders the figures to PNG, and lets tests open
// the report as a person would. Never downloads a browser; a fresh profile per launch, removed after.

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export class BrowserMissingError extends Error {}

export function chromiumPath(): string {
  return process.env.WAYFINDER_CHROMIUM ?? '/usr/bin/chromium';
}

export interface Chromium {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchChromium(opts: { scale?: number } = {}): Promise<Chromium> {
  const exe = chromiumPath();
  if (!existsSync(exe)) throw new BrowserMissingError(`no Chromium at ${exe}: apt-get install chromium, or set WAYFINDER_CHROMIUM to its path`);
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'wayfinder-chromium-'));
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: exe,
      headless: true,
      args: CHROMIUM_ARGS,
      deviceScaleFactor: opts.scale ?? 2,
      offline: true,
    });
    return {
      context,
      close: async () => {
        try {
          await context.close();
        } finally {
          rmSync(profile, { recursive: true, force: true });
        }
      },
    };
  } catch (e) {
    rmSync(profile, { recursive: true, force: true });
    throw e;
  }
}

/** Each SVG rendered to a PNG of its own size (at twice the pixel density, for sharp text). */
export async function svgsToPng(figures: { name: string; svg: string }[], dir: string): Promise<string[]> {
  const browser = await launchChromium();
  try {
    const page = await browser.context.newPage();
    const out: string[] = [];
    for (const f of figures) {
      await page.setContent(`<!DOCTYPE html><html><body style="margin:0;background:white">${f.svg}</body></html>`);
      const path = join(dir, `${f.name}.png`);
      await page.locator('svg').first().screenshot({ path });
      out.push(path);
    }
    return out;
  } finally {
    await browser.close();
  }
}
