import { existsSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';

/** Debian's chromium (`.ci/run` installs it). */
export const CHROMIUM = '/usr/bin/chromium';

/** Whether the browser suites can run; prints why not. */
export function haveChromium(suite: string): boolean {
  if (existsSync(CHROMIUM)) return true;
  console.warn(`skipping ${suite}: ${CHROMIUM} not installed (apt-get install chromium)`);
  return false;
}

/** Headless chromium with no background traffic of its own (each launch has a fresh profile). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-gpu',
    ],
  });
}

/** What a page did that a test must see: every request URL, and script errors. */
export interface PageWatch {
  /** Every URL the page requested. */
  readonly requests: string[];
  /** Uncaught errors and console errors. */
  readonly errors: string[];
}

/** Record the requests and errors of `page`. */
export function watchPage(page: Page): PageWatch {
  const watch: PageWatch = { requests: [], errors: [] };
  page.on('request', (r) => watch.requests.push(r.url()));
  page.on('pageerror', (e) => watch.errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') watch.errors.push(m.text());
  });
  return watch;
}
