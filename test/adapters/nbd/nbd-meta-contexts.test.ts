import { describe, expect, it } from 'vitest';
import { availableContexts, matchListQuery, matchSetQuery } from '../../../adapters/nbd/nbd-meta-contexts.js';

describe('meta contexts answered on request', () => {
  const accepts = (name: string) => /^qemu:dirty-bitmap:since-\d+$/.test(name);

  it('lists the export contexts, and adds a requested exact name only when the export accepts it', () => {
    const listed = ['qemu:dirty-bitmap:m2', 'qemu:dirty-bitmap:b1'];
    expect(availableContexts(listed)).toEqual(['base:allocation', ...listed]);
    const requested = [
      'qemu:dirty-bitmap:since-7',
      'qemu:dirty-bitmap:nope',
      'qemu:dirty-bitmap:',
      'qemu:dirty-bitmap:b1',
    ];
    const available = availableContexts(listed, requested, accepts);
    expect(available).toEqual(['base:allocation', ...listed, 'qemu:dirty-bitmap:since-7']);
    expect(matchSetQuery('qemu:dirty-bitmap:since-7', available)).toEqual(['qemu:dirty-bitmap:since-7']);
    expect(matchSetQuery('qemu:dirty-bitmap:nope', available)).toEqual([]);
  });

  it('the qemu:dirty-bitmap: wildcard lists the members and checkpoints, never the position contexts', () => {
    const available = availableContexts(['qemu:dirty-bitmap:b1'], ['qemu:dirty-bitmap:'], accepts);
    expect(matchListQuery('qemu:dirty-bitmap:', available)).toEqual(['qemu:dirty-bitmap:b1']);
  });
});
