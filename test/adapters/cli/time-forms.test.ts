import { describe, expect, it } from 'vitest';
import { shadowlog, shadowlogJson } from '../../support/run-cli.js';
import { memberArgs, suiteHome } from '../../support/suite-home.js';

interface Window {
  fromPosition: number;
  toPosition: number;
  fromTime: string | null;
  toTime: string | null;
}

describe('time forms and exit codes of show, audit, explain, events (built CLI)', () => {
  const suite = suiteHome('time', (dir) => [
    ['create', 'TF', '--size', '4M', ...memberArgs(dir, ['a.img', 'b.img'])],
    ['dismount', 'TF', 'm2', '--policy', 'minicopy'],
  ]);
  const h = suite.args;

  it.each([
    ['show', '--at', '-5'],
    ['show', '--at', '2026-12-01 08:23:00'],
    ['show', '--at', '2026-12-01T08:23:00'],
    ['audit', '--from', '-100'],
    ['audit', '--to', 'yesterday'],
    ['explain', '--from', '1.5'],
    ['events', '--to', '-15x'],
  ])(
    '%s %s %s exits 2 naming the accepted forms',
    async (command, option, value) => {
      const result = await shadowlog([...h(), command, 'TF', option, value]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`${option} '${value}' is invalid`);
      expect(result.stderr).toContain('ISO-8601 time with a zone');
      expect(result.stderr).toContain('-15m');
    },
    30_000,
  );

  it('accepts a position, an ISO time with Z or an offset, and a relative time', async () => {
    const now = new Date();
    const plusOne = new Date(now.getTime() + 3_600_000).toISOString().replace('Z', '+01:00');
    for (const at of ['0', now.toISOString(), plusOne, '-0s']) {
      const result = await shadowlog([...h(), 'show', 'TF', '--at', at]);
      expect(result.code, `${at}: ${result.stderr}`).toBe(0);
    }
  }, 60_000);

  it('show --at before the first event exits 3', async () => {
    for (const at of ['2001-01-01T00:00:00Z', '-3650d']) {
      const result = await shadowlog([...h(), 'show', 'TF', '--at', at]);
      expect(result.code).toBe(3);
      expect(result.stderr).toContain('before the first event');
    }
  }, 30_000);

  it('audit prints the window it resolved to; --from after --to exits 2 naming both', async () => {
    const text = await shadowlog([...h(), 'audit', 'TF', '--from', '-1h']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(
      /^window: positions 0-\d+ \(\d{4}-[\d-]+T[\d:.]+Z to \d{4}-[\d-]+T[\d:.]+Z\)/,
    );
    const json = await shadowlogJson<{ window: Window; ranges: unknown[]; writes: number }>([
      ...h(),
      'audit',
      'TF',
      '--to',
      '0',
    ]);
    expect(json.window).toMatchObject({ fromPosition: 0, toPosition: 0 });
    expect(json.window.fromTime).toBe(json.window.toTime);
    expect(json.writes).toBe(0);
    const backwards = await shadowlog([...h(), 'audit', 'TF', '--from', '10', '--to', '5']);
    expect(backwards.code).toBe(2);
    expect(backwards.stderr).toContain('--from 10 is after --to 5');
  }, 30_000);

  it('audit --lbn past the end of the volume exits 2', async () => {
    const result = await shadowlog([...h(), 'audit', 'TF', '--lbn', '8000-9000']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('past the end of the volume (8192 blocks');
    expect((await shadowlog([...h(), 'audit', 'TF', '--lbn', '0-8191'])).code).toBe(0);
  }, 30_000);

  it('explain prints the window it resolved to and keeps copies in it', async () => {
    const text = await shadowlog([...h(), 'explain', 'TF', '--from', '0', '--to', '1']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^window: positions 0-1 \(/);
    const json = await shadowlogJson<{ window: Window }>([...h(), 'explain', 'TF', '--to', '0']);
    expect(json.window).toMatchObject({ fromPosition: 0, toPosition: 0 });
  }, 30_000);
});
