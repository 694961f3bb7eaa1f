import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';

/**
 * A fresh `shadowlog-<name>-*` folder under the system temp folder for the test that calls it,
 * removed when that test finishes (pass or fail). Call it inside a test body, not a hook.
 */
export async function testHome(name: string): Promise<string> {
  const home = await mkdtemp(join(tmpdir(), `shadowlog-${name}-`));
  onTestFinished(() => rm(home, { recursive: true, force: true }));
  return home;
}
