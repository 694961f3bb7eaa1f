import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveTools } from '../adapters/nbd/nbd-harness.js';
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
      expect((await shadowlog(['--home', home, 'create', 'LV', '--size', '16M', ...members])).code).toBe(0);
      server = await startServeHttp(home, 'LV');
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
      // The write is LBN 4096-4103: the page follows the end, so its event becomes the current one.
      const row = page.locator('#events tr.current');
      await page.waitForFunction(
        `Number(document.body.getAttribute('data-position')) > ${before}`,
        undefined,
        {
          timeout: 20_000,
        },
      );
      await page.waitForSelector('#events tr.current:has-text("LBN 4096-4103")', { timeout: 20_000 });
      const position = Number(await row.getAttribute('data-position'));
      expect(position).toBeGreaterThan(before);
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
  },
);
