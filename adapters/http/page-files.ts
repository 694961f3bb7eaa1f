import { readFileSync } from 'node:fs';
import { readFile, realpath, stat } from 'node:fs/promises';
import { dirname, extname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Hono } from 'hono';
import { HTTP_STATUS } from './error-status.js';

/** Directories climbed from this file to find package.json: dist/adapters/http is 3 deep. */
const MAX_LEVELS = 6;
/** Largest asset served (the page is small; anything bigger is not ours). */
const MAX_ASSET_BYTES = 16 * 1024 * 1024;

/** Content types of the files the page is built of; anything else is octet-stream. */
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** dist/dashboard of the installed package (where the front end's build writes the page). */
export function defaultPageDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let level = 0; level < MAX_LEVELS; level++) {
    try {
      const json = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (json.name === 'shadowlog') return join(dir, 'dist', 'dashboard');
    } catch {
      // No package.json here: climb.
    }
    dir = dirname(dir);
  }
  return join(process.cwd(), 'dist', 'dashboard');
}

/** The content type of a file name. */
export function contentTypeOf(name: string): string {
  return CONTENT_TYPES[extname(name).toLowerCase()] ?? 'application/octet-stream';
}

/**
 * The page (`GET /` → index.html) and its files (`GET /assets/<path>` → `<pageDir>/<path>`),
 * with no token: they hold no data. A path that leaves `pageDir` (`..`, an encoded slash, a
 * symlink out) is 404; a page that was not built is 503 saying how to build it.
 */
export function pageRoutes(pageDir: string): Hono {
  const app = new Hono();
  app.get('/', async (c) => {
    const file = await servedFile(pageDir, 'index.html');
    if (file === null) {
      return c.text(
        `the dashboard page is not built: ${join(pageDir, 'index.html')} is missing; run 'npm run build' in the shadowlog package\n`,
        HTTP_STATUS.unavailable,
      );
    }
    return new Response(file, {
      headers: { 'content-type': contentTypeOf('index.html'), 'cache-control': 'no-cache' },
    });
  });
  app.get('/assets/*', async (c) => {
    const raw = c.req.path.slice('/assets/'.length);
    const file = isSafeRelative(raw) ? await servedFile(pageDir, raw) : null;
    if (file === null) return c.text(`no dashboard file ${c.req.path}\n`, HTTP_STATUS.notFound);
    return new Response(file, {
      headers: { 'content-type': contentTypeOf(raw), 'cache-control': 'no-cache' },
    });
  });
  return app;
}

/** A relative path of plain segments: no `..`, `.`, empty segment, backslash or NUL. */
function isSafeRelative(path: string): boolean {
  if (path.length === 0 || path.length > 1024 || /[\\\0%]/.test(path)) return false;
  return path.split('/').every((s) => s !== '' && s !== '.' && s !== '..');
}

/** The file's bytes when it is a regular file inside `root` after resolving links; else null. */
async function servedFile(root: string, relative: string): Promise<Uint8Array | null> {
  try {
    const realRoot = await realpath(root);
    const real = await realpath(join(realRoot, relative));
    if (!real.startsWith(realRoot + sep)) return null;
    const info = await stat(real);
    if (!info.isFile() || info.size > MAX_ASSET_BYTES) return null;
    return new Uint8Array(await readFile(real));
  } catch {
    return null;
  }
}
