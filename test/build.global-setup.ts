import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * The CLI tests run the built command as a user would (`bin/shadowlog.js` → `dist/`), so build
 * once before the suites: a stale dist/ must never be what a test exercises.
 */
export default function setup(): void {
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
