import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../../adapters/cli/exit-codes.js';

/** The README "Exit codes" table is a contract: it names exactly the codes the CLI can return. */

const README = join(import.meta.dirname, '..', '..', '..', 'README.md');

/** The codes in the first column of the table under `### Exit codes`. */
async function readmeCodes(): Promise<number[]> {
  const text = await readFile(README, 'utf8');
  const section = text.slice(text.indexOf('### Exit codes'));
  const table = section.slice(0, section.indexOf('\n#'));
  return [...table.matchAll(/^\| (\d+) \|/gm)].map((m) => Number(m[1]));
}

describe('exit codes', () => {
  it('the README table lists every code of adapters/cli/exit-codes.ts and no other', async () => {
    const codes = await readmeCodes();
    expect(codes.length).toBeGreaterThan(0);
    expect(codes).toEqual(Object.values(EXIT).sort((a, b) => a - b));
  });
});
