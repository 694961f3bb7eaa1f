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
  execFileSync(
    process.execPath,
    [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
    {
      cwd: root,
      stdio: 'inherit',
    },
  );
}
