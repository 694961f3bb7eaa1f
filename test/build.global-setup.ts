import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * The CLI tests run the built command as a user would (`bin/shadowlog.js` → `dist/`), so build
 * once before the suites: a stale dist/ must never be what a test exercises.
 */
export default function setup(): void {
  // SHADOWLOG_SKIP_BUILD=1: unit suites that never run the built command, while another part
  // of the tree is mid-change and would not compile.
  if (process.env.SHADOWLOG_SKIP_BUILD === '1') return;
  const root = join(import.meta.dirname, '..');
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const run = (args: string[]): void => {
    execFileSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  };
  run([tsc, '-p', 'tsconfig.build.json']);
  // The dashboard page (dist/dashboard/), as `npm run build` makes it: the browser tests load it.
  run([tsc, '-p', 'tsconfig.dashboard.json']);
  run([join(root, 'dashboard', 'build.mjs')]);
}
