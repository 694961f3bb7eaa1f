import { describe, expect, it } from 'vitest';
import { bitmapUnusableReason, formatCount, formatPercent, planCopy } from '../../domain/copy-planning.js';
import { fingerprintDifference } from '../../domain/fingerprint-comparison.js';
import { resolveMember } from '../../domain/shadow-set-decider.js';
import { fingerprint, SetHarness } from '../support/set-harness.js';

describe('copy planning', () => {
  const blocks = 16_512 * 127 - 50; // last chunk clipped
  function dismounted() {
    const h = SetHarness.create(blocks, 3);
    h.run({
      type: 'DismountMember',
      member: 'm2',
      policy: 'minicopy',
      fingerprint: fingerprint(blocks * 512),
    });
    return h;
  }

  it('reads like the OpenVMS operator expects', () => {
    const h = dismounted();
    for (let i = 0; i < 87; i++) h.run({ type: 'WriteBlocks', kind: 'write', lbn: i * 127 * 3, count: 1 });
    const plan = planCopy(
      resolveMember(h.state, 'm2'),
      h.state.geometry!,
      'minicopy',
      fingerprint(blocks * 512),
    );
    expect(plan).toEqual({
      kind: 'mini',
      reason: 'bitmap since position 1: 87 of 16,512 chunks marked (0.5%)',
      chunks: 87,
      bytes: 87 * 127 * 512,
    });
  });

  it('clips the last chunk in minicopy bytes', () => {
    const h = dismounted();
    h.run({ type: 'WriteBlocks', kind: 'write', lbn: blocks - 1, count: 1 });
    const plan = planCopy(
      resolveMember(h.state, 'm2'),
      h.state.geometry!,
      'minicopy',
      fingerprint(blocks * 512),
    );
    expect(plan.bytes).toBe((127 - 50) * 512);
    expect(plan.reason).toContain('(0.006%)');
  });

  it('full copy ignores a usable bitmap and says so', () => {
    const h = dismounted();
    h.run({ type: 'WriteBlocks', kind: 'write', lbn: 0, count: 1 });
    const plan = planCopy(resolveMember(h.state, 'm2'), h.state.geometry!, 'full', fingerprint(blocks * 512));
    expect(plan).toMatchObject({ kind: 'full', chunks: 16_512, bytes: blocks * 512 });
    expect(plan.reason).toBe(
      'full copy requested (policy full); bitmap since position 1 with 1 chunks not used',
    );
  });

  it('explains every reason a bitmap cannot be used', () => {
    const h = dismounted();
    const m2 = resolveMember(h.state, 'm2');
    expect(bitmapUnusableReason(m2, fingerprint(blocks * 512))).toBeNull();
    expect(bitmapUnusableReason(m2, null)).toBe('the member could not be fingerprinted on return');
    expect(bitmapUnusableReason(m2, { ...fingerprint(blocks * 512), sizeBytes: 1 })).toMatch(/size differs/);
    const g = SetHarness.create(blocks, 3);
    g.run({ type: 'DismountMember', member: 'm2', policy: 'minicopy', fingerprint: null });
    expect(bitmapUnusableReason(resolveMember(g.state, 'm2'), fingerprint(1))).toBe(
      'no fingerprint was taken when the member left',
    );
    expect(bitmapUnusableReason(resolveMember(g.state, 'm1'), null)).toBe('no bitmap');
  });

  it('compares fingerprints field by field', () => {
    const a = { sizeBytes: 10, inode: 1, mtimeMs: 5, samples: [{ chunk: 3, hash: 'x' }] };
    expect(fingerprintDifference(a, { ...a })).toBeNull();
    expect(fingerprintDifference(a, { ...a, inode: 2 })).toBe('inode differs (1 when dismounted, 2 now)');
    expect(fingerprintDifference(a, { ...a, mtimeMs: null })).toMatch(
      /mtime differs \(1970-01-01T00:00:00.005Z when dismounted, unknown now\)/,
    );
    expect(fingerprintDifference(a, { ...a, samples: [{ chunk: 3, hash: 'y' }] })).toBe(
      'content differs in sampled chunk 3',
    );
    expect(fingerprintDifference(a, { ...a, samples: [] })).toBe(
      'content sample of chunk 3 is missing on return',
    );
  });

  it('formats counts and percents', () => {
    expect(formatCount(16512)).toBe('16,512');
    expect(formatPercent(0)).toBe('0.0%');
    expect(formatPercent(0.52)).toBe('0.5%');
    expect(formatPercent(0.004)).toBe('0.004%');
    expect(formatPercent(100)).toBe('100.0%');
  });
});
