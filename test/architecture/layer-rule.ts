import { importsOf, isNodeBuiltin, type SourceFile } from './source-graph.js';

/**
 * The layer rule of docs/design.md ("Layers and folders"): dependencies point inward only.
 *
 *   primitives   generic building blocks (range lock, semaphore, barrier): domain/errors.ts only
 *   domain       pure: itself and zod; no Node module, no I/O
 *   projections  pure folds: domain only
 *   processes    the engine: domain, projections, primitives; no adapter
 *   adapters     the edges; one adapter never imports another, except that the composition
 *                root (adapters/composition-root) wires the others and the CLI uses it
 *   index.ts     the package entry point: anything
 *   dashboard    the browser page, compiled on its own (tsconfig.dashboard.json): dashboard/ only,
 *                plus `import type` from adapters/http/read-api.ts (the API's documents); no
 *                package, no Node module; nothing imports it
 * No runtime file imports bench/ statically (the CLI loads it with import() when asked).
 */
export interface LayerViolation {
  /** The importing file. */
  readonly from: string;
  /** Its line. */
  readonly line: number;
  /** The import as written. */
  readonly specifier: string;
  /** Which rule it breaks. */
  readonly rule: string;
}

type Layer =
  | 'primitives'
  | 'domain'
  | 'projections'
  | 'processes'
  | 'adapters'
  | 'bench'
  | 'dashboard'
  | 'index'
  | 'other';

function layerOf(path: string): Layer {
  if (path === 'index.ts') return 'index';
  const top = path.split('/')[0]!;
  switch (top) {
    case 'primitives':
    case 'domain':
    case 'projections':
    case 'processes':
    case 'adapters':
    case 'bench':
    case 'dashboard':
      return top;
    default:
      return 'other';
  }
}

/** `adapters/store/embedded/x.ts` → `store`; `adapters/cli/commands/x.ts` → `cli`. */
function adapterOf(path: string): string {
  return path.split('/')[1] ?? '';
}

const COMPOSITION_ROOT = 'composition-root';

/** The one package file the page may name, and only its types. */
const READ_API = 'adapters/http/read-api.ts';

/** What layer `from` may import from layer `to` (both internal files). Null when allowed. */
function internalRule(from: string, to: string, typeOnly: boolean): string | null {
  const a = layerOf(from);
  const b = layerOf(to);
  if (b === 'bench' && a !== 'bench')
    return 'runtime code imports bench/ (load it with import() in the bench command)';
  if (b === 'dashboard' && a !== 'dashboard') return 'nothing imports the dashboard page (dashboard/)';
  switch (a) {
    case 'dashboard':
      if (b === 'dashboard' || (to === READ_API && typeOnly)) return null;
      return `the dashboard imports only dashboard/ and, with \`import type\`, ${READ_API}`;
    case 'primitives':
      return b === 'primitives' || to === 'domain/errors.ts'
        ? null
        : 'primitives import only primitives and domain/errors.ts';
    case 'domain':
      return b === 'domain' ? null : 'domain imports only domain';
    case 'projections':
      return b === 'projections' || b === 'domain' ? null : 'projections import only domain';
    case 'processes':
      return b === 'adapters' || b === 'index' ? 'processes never import adapters' : null;
    case 'adapters': {
      if (b !== 'adapters') return b === 'index' ? 'adapters never import the entry point' : null;
      const x = adapterOf(from);
      const y = adapterOf(to);
      if (x === y) return null;
      if (x === 'cli' && y === COMPOSITION_ROOT) return null;
      if (x === COMPOSITION_ROOT && y !== 'cli') return null;
      return `adapter ${x} imports adapter ${y} (only the composition root wires adapters together)`;
    }
    default:
      return null;
  }
}

/** What layer `from` may import from a package or Node module. Null when allowed. */
function externalRule(from: string, specifier: string): string | null {
  switch (layerOf(from)) {
    case 'domain':
      return specifier === 'zod' ? null : 'domain imports no package but zod, and no Node module';
    case 'projections':
    case 'primitives':
      return `${layerOf(from)} import no package and no Node module`;
    case 'dashboard':
      return 'the dashboard imports no package and no Node module (the browser loads it unbundled)';
    case 'processes':
      return isNodeBuiltin(specifier) && specifier !== 'node:perf_hooks'
        ? 'processes use the ports, not Node modules'
        : null;
    default:
      return null;
  }
}

/** Every import in `files` that breaks the layer rule. */
export function layerViolations(files: readonly SourceFile[]): LayerViolation[] {
  const out: LayerViolation[] = [];
  for (const file of files) {
    for (const imp of importsOf(file)) {
      if (imp.target !== null && imp.dynamic && layerOf(imp.target) === 'bench') continue;
      const rule =
        imp.target !== null
          ? internalRule(file.path, imp.target, imp.typeOnly)
          : externalRule(file.path, imp.specifier);
      if (rule !== null) out.push({ from: file.path, line: imp.line, specifier: imp.specifier, rule });
    }
  }
  return out;
}
