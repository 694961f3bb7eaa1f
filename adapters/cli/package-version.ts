import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Directories climbed from this file to find package.json: dist/adapters/cli is 3 deep. */
const MAX_LEVELS = 6;

/**
 * The version in shadowlog's package.json, read at run time so `--version` can never disagree
 * with what npm installed. Works from the sources and from dist/ (package.json sits at a
 * different depth in each).
 */
export function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let level = 0; level < MAX_LEVELS; level++) {
    try {
      const json = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (json.name === 'shadowlog' && typeof json.version === 'string') return json.version;
    } catch {
      // No package.json here: climb.
    }
    dir = dirname(dir);
  }
  return 'unknown';
}
