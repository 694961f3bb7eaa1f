import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveTools } from '../adapters/nbd/nbd-harness.js';
import { serve, shadowlog, shadowlogJson } from '../support/run-cli.js';
import { haveChromium, launchChromium, type PageWatch, watchPage } from './browser.js';
import { type DashboardProcess, startDashboard } from './dashboard-process.js';

const run = promisify(execFile);
const REPO = join(import.meta.dirname, '..', '..');

interface ShowDoc {
  position: number;
  chunkBlocks: number;
  members: { id: string; state: string }[];
  bitmaps: { member: string; type: string; chunksMarked: number; active: boolean }[];
}
interface AuditDoc {
  ranges: { lbn: number; count: number }[];
}
interface ExplainDoc {
  chunk: { bitmaps: { marks: { position: number }[] }[] };
}

/** Chunks touched by LBN ranges. */
function chunksOf(ranges: AuditDoc['ranges'], chunkBlocks: number): Set<number> {
  const out = new Set<number>();
  for (const r of ranges) {
    for (let c = Math.floor(r.lbn / chunkBlocks); c <= Math.floor((r.lbn + r.count - 1) / chunkBlocks); c++)
      out.add(c);
  }
  return out;
}

async function moveSlider(page: Page, position: number): Promise<void> {
  await page.locator('#slider').fill(String(position));
  await page.waitForSelector(`body[data-position="${position}"]`, { timeout: 20_000 });
}

describe.runIf(haveChromium('dashboard browser tests') && haveTools('dashboard browser tests', ['qemu-io']))(
  'the dashboard in chromium, over `shadowlog dashboard` on a real set',
  () => {
    let home: string;
    let dashboard: DashboardProcess;
    let browser: Browser;
    let page: Page;
    let watch: PageWatch;
    let dismountAt: number;
    let beforeMount: number;
    const h = () => ['--home', home];
    const write = (uri: string, spec: string) =>
      run('qemu-io', ['-f', 'raw', '-c', `write -P 0x5a ${spec}`, uri]);

    beforeAll(async () => {
      home = await mkdtemp(join(tmpdir(), 'shadowlog-dashboard-'));
      const members = ['a.img', 'b.img'].flatMap((m) => ['--member', join(home, m)]);
      expect((await shadowlog([...h(), 'create', 'DB', '--size', '1G', ...members])).code).toBe(0);
      let server = await serve(home, 'DB');
      await write(server.uri, '0 64K');
      expect(await server.stop()).toBe(0);
      dismountAt = (
        await shadowlogJson<{ position: number }>([...h(), 'dismount', 'DB', 'm2', '--policy', 'minicopy'])
      ).position;
      server = await serve(home, 'DB');
      // Away: LBN 2048-2055 (chunk 16), 8192-8319 (chunks 64, 65), 16384-16391 (chunk 129).
      for (const spec of ['1M 4K', '4M 64K', '8M 4K']) await write(server.uri, spec);
      expect(await server.stop()).toBe(0);
      beforeMount = (await shadowlogJson<ShowDoc>([...h(), 'show', 'DB'])).position;
      expect((await shadowlog([...h(), 'mount', 'DB', 'm2', '--wait'])).code).toBe(0);
      expect((await shadowlog([...h(), 'checkpoint', 'DB', 'b1'])).code).toBe(0);
      dashboard = await startDashboard(home, 'DB');
      browser = await launchChromium();
      page = await browser.newPage({ viewport: { width: 1000, height: 1000 } });
      watch = watchPage(page);
      await page.goto(dashboard.url);
      await page.waitForSelector('#members tr[data-member]', { timeout: 20_000 });
    }, 180_000);

    afterAll(async () => {
      await browser?.close();
      await dashboard?.stop();
      await rm(home, { recursive: true, force: true });
    });

    it('shows the members with the states `show --json` gives at the end of the log', async () => {
      const show = await shadowlogJson<ShowDoc>([...h(), 'show', 'DB']);
      await page.waitForSelector(`body[data-position="${show.position}"]`, { timeout: 20_000 });
      const rows = await page
        .locator('#members tr[data-member]')
        .evaluateAll((trs) =>
          trs.map((tr) => `${tr.getAttribute('data-member')} ${tr.getAttribute('data-state')}`),
        );
      expect(rows).toEqual(show.members.map((m) => `${m.id} ${m.state}`));
    }, 60_000);

    it('the timeline marks the dismount, the mount, the copy and the checkpoint where `events` has them', async () => {
      const events = (await shadowlog([...h(), 'events', 'DB', '--json'])).stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { position: number; type: string });
      const at = (types: string[]) => events.filter((e) => types.includes(e.type)).map((e) => e.position);
      const markers = JSON.parse(
        (await page.locator('#timeline').getAttribute('data-markers')) ?? '{}',
      ) as Record<string, number[]>;
      expect(markers.dismount).toEqual(at(['MemberDismounted']));
      expect(markers.mount).toEqual(at(['MemberMountRequested']));
      expect(markers.copy).toEqual(at(['CopyStarted', 'CopyCompleted']));
      expect(markers.checkpoint).toEqual(at(['CheckpointCreated']));
      expect(markers.dismount).toEqual([dismountAt]);
    }, 60_000);

    it('the slider shows the state, the bitmap and its marked chunks as `show --at` gives them', async () => {
      await moveSlider(page, beforeMount);
      const show = await shadowlogJson<ShowDoc>([...h(), 'show', 'DB', '--at', String(beforeMount)]);
      const states = await page
        .locator('#members tr[data-member]')
        .evaluateAll((trs) =>
          trs.map((tr) => `${tr.getAttribute('data-member')} ${tr.getAttribute('data-state')}`),
        );
      expect(states).toEqual(show.members.map((m) => `${m.id} ${m.state}`));
      expect(states).toContain('m2 dismounted');
      const bitmap = show.bitmaps.find((b) => b.member === 'm2' && b.type === 'minicopy')!;
      expect(bitmap.chunksMarked).toBe(4);
      const heat = page.locator('#bitmaps .heatmap[data-member="m2"][data-type="minicopy"]');
      expect(await heat.getAttribute('data-marked')).toBe(String(bitmap.chunksMarked));
      expect(await page.locator('#events tr.current').getAttribute('data-position')).toBe(
        String(beforeMount),
      );
      // Before the dismount there is no write bitmap.
      await moveSlider(page, dismountAt - 1);
      expect(await page.locator('#bitmaps .heatmap[data-member="m2"]').count()).toBe(0);
    }, 60_000);

    it('the A/B diff counts the chunks written between two positions (from `audit`)', async () => {
      await moveSlider(page, dismountAt);
      await page.locator('#set-a').click();
      await moveSlider(page, beforeMount);
      await page.locator('#set-b').click();
      const diff = page.locator('#diff .heatmap[data-member="m2"][data-type="minicopy"]');
      await diff.waitFor({ timeout: 20_000 });
      const audit = await shadowlogJson<AuditDoc>([
        ...h(),
        'audit',
        'DB',
        '--from',
        String(dismountAt + 1),
        '--to',
        String(beforeMount),
      ]);
      const written = chunksOf(audit.ranges, 127);
      expect(written.size).toBe(4);
      expect(await diff.getAttribute('data-set')).toBe(String(written.size));
      expect(await diff.getAttribute('data-cleared')).toBe('0');
    }, 60_000);

    it('zooms from a bin down to single chunks; clicking a chunk lists the writes `explain --chunk` lists', async () => {
      const canvas = page.locator('#bitmaps .heatmap[data-member="m2"] canvas');
      const attr = async (name: string) => Number(await canvas.getAttribute(`data-${name}`));
      const clickChunk = async (chunk: number) => {
        const i = Math.floor((chunk - (await attr('from'))) / (await attr('bin-chunks')));
        const cell = await attr('cell-px');
        const columns = await attr('columns');
        await canvas.click({
          position: { x: (i % columns) * cell + cell / 2, y: Math.floor(i / columns) * cell + cell / 2 },
        });
      };
      // 1 GiB is 16,514 chunks: 17 to a bin. A click on the bin of chunk 64 zooms into chunks 51-67.
      const binChunks = await attr('bin-chunks');
      expect(binChunks).toBe(17);
      const chunk = 64;
      await clickChunk(chunk);
      expect(await attr('bin-chunks')).toBe(1);
      expect(await attr('from')).toBe(Math.floor(chunk / binChunks) * binChunks);
      await clickChunk(chunk);
      await page.waitForSelector(`#story[data-chunk="${chunk}"] tr[data-position]`, { timeout: 20_000 });
      const shown = await page
        .locator('#story tr[data-position]')
        .evaluateAll((trs) => trs.map((tr) => Number(tr.getAttribute('data-position'))));
      const explain = await shadowlogJson<ExplainDoc>([...h(), 'explain', 'DB', '--chunk', String(chunk)]);
      const expected = explain.chunk.bitmaps.flatMap((b) => b.marks.map((m) => m.position));
      expect(expected.length).toBeGreaterThan(0);
      expect(shown).toEqual(expected);
    }, 60_000);

    it('the permalink keeps the cursors across a reload; a screenshot is small', async () => {
      expect(page.url()).toContain(`at=${beforeMount}`);
      expect(page.url()).toContain(`a=${dismountAt}`);
      await page.locator('#bitmaps .heatmap[data-member="m2"] .zoom-out').click();
      const shot = join(home, 'dashboard.png');
      await page.screenshot({ path: shot });
      expect((await stat(shot)).size).toBeLessThan(150 * 1024);
      if (process.env.SHADOWLOG_UPDATE_SCREENSHOT === '1')
        await copyFile(shot, join(REPO, 'docs', 'dashboard.png'));
      await page.reload();
      await page.waitForSelector(`body[data-position="${beforeMount}"]`, { timeout: 20_000 });
      expect(await page.locator('#slider').inputValue()).toBe(String(beforeMount));
      expect(await page.locator('#cursor-a').textContent()).toBe(`A #${dismountAt}`);
      await page.waitForSelector('#diff .heatmap[data-member="m2"]', { timeout: 20_000 });
    }, 60_000);

    it('shows the API error (code and message) when the token is wrong', async () => {
      const other = await browser.newPage();
      await other.goto(`${dashboard.origin}/#token=wrong`);
      const box = other.locator('#error');
      await box.waitFor({ timeout: 20_000 });
      expect(await box.getAttribute('data-code')).toBe('UNAUTHORIZED');
      expect(await box.textContent()).toContain('token');
      await other.close();
    }, 60_000);

    it('no request left the server that served the page, and no script failed', () => {
      const elsewhere = watch.requests.filter(
        (u) => !u.startsWith(`${dashboard.origin}/`) && !u.startsWith('data:'),
      );
      expect(watch.requests.length).toBeGreaterThan(5);
      expect(elsewhere).toEqual([]);
      expect(watch.errors).toEqual([]);
    });
  },
);
