import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSet } from '../../../adapters/composition-root/create-set.js';
import { engineLogReader } from '../../../adapters/composition-root/dashboard-source.js';
import { openSet, type ReadWriteSet } from '../../../adapters/composition-root/open-set.js';
import { setPaths } from '../../../adapters/composition-root/set-home.js';
import { type ControlServer, startControlServer } from '../../../adapters/http/control-server.js';
import type {
  EventsAnswer,
  InfoAnswer,
  JournalAnswer,
  TimelineAnswer,
  ViewAnswer,
} from '../../../adapters/http/read-api.js';

const TIMEOUT_MS = 60_000;
const CONTROL = 'control-token';
const READ = 'read-token';
const CHUNK_BLOCKS = 127;

let home: string;
let pageDir: string;
let opened: ReadWriteSet;
let server: ControlServer;
let dismountPosition: number;

function get(path: string, token: string | null = READ): Promise<Response> {
  return fetch(`http://${server.address}${path}`, {
    headers: token === null ? {} : { authorization: `Bearer ${token}` },
  });
}

async function json<T>(path: string): Promise<T> {
  const response = await get(path);
  expect(response.status, `${path}: ${await response.clone().text()}`).toBe(200);
  return (await response.json()) as T;
}

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'shadowlog-read-api-'));
  pageDir = join(home, 'page');
  await mkdir(join(pageDir, 'js'), { recursive: true });
  await writeFile(join(pageDir, 'index.html'), '<!doctype html><title>shadowlog</title>');
  await writeFile(join(pageDir, 'js', 'main.js'), 'export {};');
  await writeFile(join(home, 'secret.txt'), 'not for the page');
  await symlink(join(home, 'secret.txt'), join(pageDir, 'link.txt'));
  await createSet(setPaths(home, 'DSA1'), home, {
    sizeBytes: 4 * 1024 * 1024,
    memberPaths: [join(home, 'a.img'), join(home, 'b.img')],
  });
  opened = await openSet({ home, set: 'DSA1', mode: 'read-write' });
  await opened.unit.write(0, new Uint8Array(512 * 8).fill(1));
  dismountPosition = (await opened.unit.dismount('m2', 'minicopy')).position;
  // Chunks 0 and 10-11 marked in m2's bitmap.
  await opened.unit.write(0, new Uint8Array(512 * 8).fill(2));
  await opened.unit.write(CHUNK_BLOCKS * 10 + 100, new Uint8Array(512 * 40).fill(3));
  server = await startControlServer({
    unit: opened.unit,
    host: '127.0.0.1',
    port: 0,
    token: CONTROL,
    readToken: READ,
    reader: engineLogReader(opened.unit, opened.store, opened.paths),
    pageDir,
  });
}, TIMEOUT_MS);

afterAll(async () => {
  await server?.close();
  await opened?.close();
  await rm(home, { recursive: true, force: true });
}, TIMEOUT_MS);

describe('the read API over a served set', () => {
  it('info names the set, its geometry and its positions', async () => {
    const info = await json<InfoAnswer>('/api/info');
    expect(info).toMatchObject({ set: 'DSA1', readOnly: false, firstPosition: 0, blockSize: 512 });
    expect(info.blocks).toBe(8192);
    expect(info.chunks).toBe(Math.ceil(8192 / CHUNK_BLOCKS));
    // The index follows the engine's appends (a MembersSynced may be on its way).
    expect(info.lastPosition).toBeGreaterThanOrEqual(dismountPosition + 2);
    expect(info.lastPosition).toBeLessThanOrEqual(await opened.store.lastPosition());
  });

  it('view: the bitmap as runs now, and no bitmap before the dismount', async () => {
    const now = await json<ViewAnswer>('/api/view');
    const m2 = now.bitmaps.find((b) => b.member === 'm2');
    expect(m2).toMatchObject({ type: 'minicopy', chunksMarked: 3, runs: [0, 1, 10, 2] });
    expect(now.summary.members.map((m) => m.state)).toEqual(['valid', 'dismounted']);
    expect(['BlocksWritten', 'MembersSynced']).toContain(now.event?.type);
    const before = await json<ViewAnswer>(`/api/view?at=${dismountPosition - 1}`);
    expect(before.position).toBe(dismountPosition - 1);
    expect(before.bitmaps.filter((b) => b.type === 'minicopy')).toEqual([]);
    expect(before.summary.members.map((m) => m.state)).toEqual(['valid', 'valid']);
    // A time resolves to the last event at or before it.
    const atTime = await json<ViewAnswer>(`/api/view?at=${encodeURIComponent(now.event!.time)}`);
    // (The engine may record a MembersSynced meanwhile, in the same millisecond or later.)
    expect(atTime.position).toBeGreaterThanOrEqual(now.position);
    expect(Date.parse(atTime.event!.time)).toBeLessThanOrEqual(Date.parse(now.event!.time));
    // Past the end is the end.
    const end = await json<ViewAnswer>('/api/view?at=999999');
    expect(end.position).toBeGreaterThanOrEqual(now.position);
    expect(end.position).toBeLessThanOrEqual(await opened.store.lastPosition());
    expect(end.event?.position).toBe(end.position);
  });

  it('journal at a position; timeline bins and markers', async () => {
    const journal = await json<JournalAnswer>(`/api/journal?at=${dismountPosition}`);
    expect(journal.position).toBe(dismountPosition);
    const timeline = await json<TimelineAnswer>('/api/timeline?bins=4');
    expect(timeline.bins.length).toBeLessThanOrEqual(4);
    expect(timeline.bins.reduce((n, b) => n + b.writes, 0)).toBe(3);
    expect(timeline.markers.map((m) => m.type)).toContain('MemberDismounted');
    expect(timeline.markers.find((m) => m.type === 'MemberDismounted')).toMatchObject({
      position: dismountPosition,
      member: 'm2',
    });
  });

  it('events: filters as shadowlog events, limit and next, reverse', async () => {
    const writes = await json<EventsAnswer>('/api/events?type=writes');
    expect(writes.events.map((e) => e.type)).toEqual(['BlocksWritten', 'BlocksWritten', 'BlocksWritten']);
    expect(writes.next).toBeNull();
    const page = await json<EventsAnswer>('/api/events?type=writes&limit=2');
    expect(page.events).toHaveLength(2);
    const rest = await json<EventsAnswer>(`/api/events?type=writes&from=${page.next}`);
    expect(rest.events.map((e) => e.position)).toEqual([writes.events[2]!.position]);
    const newest = await json<EventsAnswer>('/api/events?reverse=true&limit=1&member=m2');
    expect(newest.events.map((e) => e.type)).toEqual(['MemberDismounted']);
    const lbn = await json<EventsAnswer>(`/api/events?lbn=${CHUNK_BLOCKS * 10}-${CHUNK_BLOCKS * 10 + 200}`);
    expect(lbn.events).toHaveLength(1);
  });

  it('chunk: the writes that marked it; audit: the blocks changed in a window', async () => {
    const story = (await json<{ chunk: { bitmaps: { member: string; marks: { lbn: number }[] }[] } }>(
      '/api/chunk/10',
    )) as {
      chunk: { chunk: number; bitmaps: { member: string; marks: { lbn: number; count: number }[] }[] };
    };
    expect(story.chunk.chunk).toBe(10);
    expect(story.chunk.bitmaps.map((b) => [b.member, b.marks.map((m) => [m.lbn, m.count])])).toEqual([
      ['m2', [[CHUNK_BLOCKS * 10 + 100, 40]]],
    ]);
    const audit = (await json<{ blocks: number; writes: number }>(`/api/audit?from=${dismountPosition}`)) as {
      blocks: number;
      writes: number;
    };
    expect(audit).toMatchObject({ blocks: 48, writes: 2 });
  });

  it('refuses: no token 401, a control token is not needed to read, a read token cannot control', async () => {
    expect((await get('/api/info', null)).status).toBe(401);
    expect((await get('/api/info', 'wrong')).status).toBe(401);
    expect((await get('/api/info', CONTROL)).status).toBe(200);
    expect((await fetch(`http://${server.address}/api/info?token=${READ}`)).status).toBe(200);
    expect((await get('/api/state', READ)).status).toBe(401);
    expect((await fetch(`http://${server.address}/api/state?token=${CONTROL}`)).status).toBe(401);
    expect((await get('/api/state', CONTROL)).status).toBe(200);
  });

  it('400 for a malformed parameter, 404 for an unknown route or chunk past the volume', async () => {
    for (const path of [
      '/api/view?at=yesterday',
      '/api/timeline?bins=0',
      '/api/events?lbn=9-1',
      '/api/events?type=nope',
    ]) {
      const response = await get(path);
      expect([path, response.status]).toEqual([path, 400]);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('INVALID_ARGUMENT');
    }
    expect((await get('/api/chunk/999999')).status).toBe(400);
    expect((await get('/api/nothing', CONTROL)).status).toBe(404);
    // A path that is not a read route needs the control token before anything is said of it.
    expect((await get('/api/nothing')).status).toBe(401);
    expect((await get('/api/events?member=m9')).status).toBe(404);
  });

  it('a body that is not JSON is 400, not 409', async () => {
    const response = await fetch(`http://${server.address}/api/checkpoint`, {
      method: 'POST',
      headers: { authorization: `Bearer ${CONTROL}` },
      body: 'name=x',
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('INVALID_ARGUMENT');
  });

  it('serves the page and its files without a token, with their types; no way out of the page folder', async () => {
    const page = await get('/', null);
    expect([page.status, page.headers.get('content-type')]).toEqual([200, 'text/html; charset=utf-8']);
    expect(await page.text()).toContain('<title>shadowlog</title>');
    const js = await get('/assets/js/main.js', null);
    expect([js.status, js.headers.get('content-type')]).toEqual([200, 'text/javascript; charset=utf-8']);
    for (const path of [
      '/assets/../secret.txt',
      '/assets/%2e%2e/secret.txt',
      '/assets/js/%2e%2e%2f..%2fsecret.txt',
      '/assets/link.txt',
      '/assets/nothing.js',
    ]) {
      const response = await get(path, null);
      expect([path, response.status]).toEqual([path, 404]);
      expect(await response.text()).not.toContain('not for the page');
    }
  });

  it('the stream says ready, then sends events appended by a real write', async () => {
    const controller = new AbortController();
    const response = await fetch(`http://${server.address}/api/stream?token=${READ}`, {
      signal: controller.signal,
    });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const reader = response.body!.getReader();
    let text = '';
    const readUntil = async (pattern: RegExp) => {
      // Bounded by the test timeout; each read returns what the server flushed.
      while (!pattern.test(text)) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
    };
    await readUntil(/event: ready/);
    await opened.unit.write(CHUNK_BLOCKS * 20, new Uint8Array(512 * 2).fill(4));
    await readUntil(/event: appended\ndata: .*\n\n/);
    const data = /event: appended\ndata: (.*)\n/.exec(text)![1]!;
    const events = JSON.parse(data) as { type: string; lbn: number }[];
    expect(events.map((e) => [e.type, e.lbn])).toContainEqual(['BlocksWritten', CHUNK_BLOCKS * 20]);
    controller.abort();
  });
});

describe('the page not built', () => {
  it('GET / is 503 saying how to build it', async () => {
    const other = await startControlServer({
      unit: opened.unit,
      host: '127.0.0.1',
      port: 0,
      token: CONTROL,
      reader: engineLogReader(opened.unit, opened.store, opened.paths),
      pageDir: join(home, 'no-page'),
    });
    try {
      const response = await fetch(`http://${other.address}/`);
      expect(response.status).toBe(503);
      expect(await response.text()).toContain('npm run build');
    } finally {
      await other.close();
    }
  });
});
