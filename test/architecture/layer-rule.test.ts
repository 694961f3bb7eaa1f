import { describe, expect, it } from 'vitest';
import { layerViolations } from './layer-rule.js';
import { REPO_ROOT, readSources, SOURCE_ROOTS } from './source-graph.js';

describe('the layer rule (docs/design.md, "Layers and folders")', () => {
  it('holds for every source file of the repository', () => {
    const violations = layerViolations(readSources(REPO_ROOT, SOURCE_ROOTS)).map(
      (v) => `${v.from}:${v.line} imports ${v.specifier}: ${v.rule}`,
    );
    expect(violations).toEqual([]);
  });

  it('fails on each kind of forbidden import', () => {
    const files = [
      {
        path: 'domain/a.ts',
        text: "import { readFile } from 'node:fs';\nimport { x } from '../projections/b.js';",
      },
      { path: 'domain/c.ts', text: "import { Subject } from 'rxjs';" },
      { path: 'projections/b.ts', text: "import { RangeLock } from '../processes/p.js';" },
      {
        path: 'processes/p.ts',
        text: "import { openEmbeddedStore } from '../adapters/store/embedded/index.js';",
      },
      { path: 'primitives/r.ts', text: "import { decide } from '../domain/shadow-set-decider.js';" },
      { path: 'adapters/http/h.ts', text: "import { EXIT } from '../cli/exit-codes.js';" },
      { path: 'adapters/cli/c.ts', text: "import { BENCH } from '../../bench/suites.js';" },
      { path: 'adapters/nbd/n.ts', text: "export { x } from '../store/shared/y.js';" },
      { path: 'dashboard/d.ts', text: "import { ROUTES } from '../adapters/http/read-api.js';" },
      { path: 'dashboard/e.ts', text: "import { type ViewAnswer } from '../adapters/http/read-api.js';" },
      { path: 'dashboard/f.ts', text: "import type { SetSummary } from '../projections/set-summary.js';" },
      { path: 'dashboard/g.ts', text: "import { z } from 'zod';" },
      { path: 'adapters/http/s.ts', text: "import { Heatmap } from '../../dashboard/heatmap.js';" },
    ];
    const found = layerViolations(files).map((v) => `${v.from} ${v.specifier}`);
    expect(found).toEqual([
      'domain/a.ts node:fs',
      'domain/a.ts ../projections/b.js',
      'domain/c.ts rxjs',
      'projections/b.ts ../processes/p.js',
      'processes/p.ts ../adapters/store/embedded/index.js',
      'primitives/r.ts ../domain/shadow-set-decider.js',
      'adapters/http/h.ts ../cli/exit-codes.js',
      'adapters/cli/c.ts ../../bench/suites.js',
      'adapters/nbd/n.ts ../store/shared/y.js',
      'dashboard/d.ts ../adapters/http/read-api.js',
      'dashboard/e.ts ../adapters/http/read-api.js',
      'dashboard/f.ts ../projections/set-summary.js',
      'dashboard/g.ts zod',
      'adapters/http/s.ts ../../dashboard/heatmap.js',
    ]);
  });

  it('allows what the rule allows', () => {
    const files = [
      { path: 'domain/a.ts', text: "import { z } from 'zod';\nimport { b } from './b.js';" },
      { path: 'primitives/r.ts', text: "import { assert } from '../domain/errors.js';" },
      { path: 'processes/p.ts', text: "import { RangeLock } from '../primitives/range-lock.js';" },
      { path: 'adapters/cli/c.ts', text: "import { openSet } from '../composition-root/open-set.js';" },
      { path: 'adapters/composition-root/o.ts', text: "import { s } from '../store/embedded/index.js';" },
      { path: 'adapters/cli/b.ts', text: "const suites = await import('../../bench/suites.js');" },
      { path: 'dashboard/m.ts', text: "import type { ViewAnswer } from '../adapters/http/read-api.js';" },
      {
        path: 'dashboard/n.ts',
        text: "import { el } from './dom.js';\nexport type { Runs } from './runs.js';",
      },
    ];
    expect(layerViolations(files)).toEqual([]);
  });
});
