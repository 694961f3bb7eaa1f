import { describe, expect, it } from 'vitest';
import { BENCH_SUITE_NAMES } from '../../../adapters/cli/commands/bench.js';
import { BENCH_SUITES } from '../../../bench/suites.js';

describe('shadowlog bench', () => {
  it('lists, without loading bench/, exactly the suites bench/ defines', () => {
    expect([...BENCH_SUITE_NAMES]).toEqual(Object.keys(BENCH_SUITES));
  });
});
