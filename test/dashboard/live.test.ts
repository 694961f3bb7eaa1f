import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveTools } from '../adapters/nbd/nbd-harness.js';
import { backgroundCli } from '../support/background-cli.js';
import { shadowlog } from '../support/run-cli.js';
import { haveChromium, launchChromium, watchPage } from './browser.js';
import { type DashboardProcess, startServeHttp } from './dashboard-process.js';

const run = promisify(execFile);

describe.runIf(haveChromium('dashboard live mode') && haveTools('dashboard live mode', ['qemu-io']))(
  'the dashboard follows a served set (`shadowlog serve --http`)',
  () => {
    let home: string;
    let server: DashboardProcess;
    let browser: Browser;

    beforeAll(async () => {
      home = await mkdtemp(join(tmpdir(), 'shadowlog-dashboard-live-'));
      const members = ['a.img', 'b.img'].flatMap((m) => ['--member', join(home, m)]);
      expect((await shadowlog(['--home', home, 'create', 'LV', '--size', '64M', ...members])).code).toBe(0);
      // 16 MiB/s: the full copy of the progress test takes about 4 s, long enough to watch.
      server = await startServeHttp(home, 'LV', ['--copy-rate', '16']);
      browser = await launchChromium();
    }, 120_000);

    afterAll(async () => {
      await browser?.close();
      await server?.stop();
      await rm(home, { recursive: true, force: true });
    });

    it('shows a write over NBD appended while the page is open, and moves the cursor to it', async () => {
      const page = await browser.newPage();
      const watch = watchPage(page);
      await page.goto(server.url);
      await page.waitForSelector('#live-status[data-live="on"]', { timeout: 20_000 });
      await page.waitForSelector('body[data-position]', { timeout: 20_000 });
      const before = Number(await page.locator('body').getAttribute('data-position'));
      await run('qemu-io', ['-f', 'raw', '-c', 'write -P 0x33 2M 4K', server.nbd!]);
      // The write is LBN 4096-4103: the page follows the end, so the cursor moves past it and its
      // event is listed with the ones before the current one (qemu-io's flush may append after it).
      const row = page.locator('#events tr.current');
      // Polled from here: the page's CSP forbids the string evaluation waitForFunction would use.
      const deadline = Date.now() + 20_000;
      while (Number(await page.locator('body').getAttribute('data-position')) <= before) {
        if (Date.now() > deadline) throw new Error(`the page stayed at position ${before} after the write`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const written = page.locator('#events tr:has-text("LBN 4096-4103")');
      await written.waitFor({ timeout: 20_000 });
      expect(Number(await written.getAttribute('data-position'))).toBeGreaterThan(before);
      const position = Number(await row.getAttribute('data-position'));
      expect(position).toBeGreaterThanOrEqual(Number(await written.getAttribute('data-position')));
      expect(Number(await page.locator('#slider').getAttribute('max'))).toBeGreaterThanOrEqual(position);
      expect(
        Number(await page.locator('#live-status').getAttribute('data-last-position')),
      ).toBeGreaterThanOrEqual(position);
      const elsewhere = watch.requests.filter(
        (u) => !u.startsWith(`${server.origin}/`) && !u.startsWith('data:'),
      );
      expect(elsewhere).toEqual([]);
      expect(watch.errors).toEqual([]);
    }, 90_000);
    it('shows copy progress moving (percent, rate) during `mount --wait` through the server', async () => {
      const page = await browser.newPage();
      await page.goto(server.url);
      await page.waitForSelector('#live-status[data-live="on"]', { timeout: 20_000 });
      // A full copy of a fresh set copies only chunks ever written (the rest are holes, no I/O):
      // write 48 MiB first so the copy at --copy-rate 16 MiB/s runs for about 3 s.
      await run('qemu-io', ['-f', 'raw', '-c', 'write -P 0x44 0 48M', server.nbd!]);
      expect((await shadowlog(['--home', home, 'dismount', 'LV', 'm2', '--policy', 'none'])).code).toBe(0);
      const mount = backgroundCli(['--home', home, 'mount', 'LV', 'm2', '--policy', 'full', '--wait']);
      let done = false;
      void mount.exited.then(() => {
        done = true;
      });
      const seen: number[] = [];
      let rated = false;
      const progress = page.locator('#members tr[data-member="m2"] .live-progress');
      while (!done) {
        const percent = await progress.getAttribute('data-percent', { timeout: 100 }).catch(() => null);
        if (percent !== null && Number(percent) !== seen.at(-1)) {
          seen.push(Number(percent));
          rated ||= /[KMG]?i?B\/s ETA \d/.test((await progress.textContent().catch(() => '')) ?? '');
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(await mount.exited).toBe(0);
      expect(seen.length).toBeGreaterThanOrEqual(2);
      for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThan(seen[i - 1]!);
      expect(rated).toBe(true);
      await page.waitForSelector('#members tr[data-member="m2"][data-state="valid"]', { timeout: 20_000 });
    }, 120_000);
  },
);
