// Assembles dist/dashboard/ after `tsc -p tsconfig.dashboard.json`. tsc also emits the files the
// page's type-only imports reach (adapters/http/read-api.ts and what it names): they are empty
// modules the page never loads, so only dashboard/*.js is kept, with index.html and the CSS.
import { copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const compiled = join(root, 'dist', '.dashboard-tsc');
const out = join(root, 'dist', 'dashboard');

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
for (const name of readdirSync(join(compiled, 'dashboard'))) {
  if (name.endsWith('.js')) copyFileSync(join(compiled, 'dashboard', name), join(out, name));
}
for (const name of readdirSync(join(root, 'dashboard'))) {
  if (name.endsWith('.html') || name.endsWith('.css'))
    copyFileSync(join(root, 'dashboard', name), join(out, name));
}
rmSync(compiled, { recursive: true, force: true });
