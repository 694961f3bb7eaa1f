import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, posix, relative, resolve } from 'node:path';
import ts from 'typescript';

/** One source file as the architecture checks see it. */
export interface SourceFile {
  /** Path from the repository root, with forward slashes (`processes/engine/write-path.ts`). */
  readonly path: string;
  /** The file's text. */
  readonly text: string;
}

/** One import of a source file. */
export interface SourceImport {
  /** The importing file, from the repository root. */
  readonly from: string;
  /** The specifier as written (`../domain/errors.js`, `zod`, `node:fs`). */
  readonly specifier: string;
  /** For a relative specifier, the imported file from the repository root (`.ts`); else null. */
  readonly target: string | null;
  /** `import('…')` rather than a static import or re-export. */
  readonly dynamic: boolean;
  /**
   * `import type …` / `export type … from`: erased from the emitted JavaScript. (`import { type X }`
   * is not: under verbatimModuleSyntax it still loads the module.)
   */
  readonly typeOnly: boolean;
  /** 1-based line of the import. */
  readonly line: number;
}

/** The folders that hold the package's runtime sources (tests and benchmarks aside); dashboard/ is the browser page. */
export const SOURCE_ROOTS = [
  'primitives',
  'domain',
  'projections',
  'processes',
  'adapters',
  'dashboard',
] as const;

/** Every `.ts` file under `roots` of the repository at `repoRoot`, plus `index.ts`. */
export function readSources(repoRoot: string, roots: readonly string[]): SourceFile[] {
  const out: SourceFile[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const full = join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) {
        out.push({ path: relative(repoRoot, full).split('\\').join('/'), text: readFileSync(full, 'utf8') });
      }
    }
  };
  for (const root of roots) walk(resolve(repoRoot, root));
  try {
    out.push({ path: 'index.ts', text: readFileSync(join(repoRoot, 'index.ts'), 'utf8') });
  } catch {
    // No entry point yet: the package test reports that.
  }
  return out;
}

/** Every import and re-export of `file`, static and dynamic. */
export function importsOf(file: SourceFile): SourceImport[] {
  const source = ts.createSourceFile(file.path, file.text, ts.ScriptTarget.ES2022, true);
  const out: SourceImport[] = [];
  const add = (literal: ts.StringLiteralLike, dynamic: boolean, typeOnly = false): void => {
    const specifier = literal.text;
    let target: string | null = null;
    if (specifier.startsWith('.')) {
      target = posix.normalize(posix.join(posix.dirname(file.path), specifier)).replace(/\.js$/, '.ts');
    }
    const line = source.getLineAndCharacterOfPosition(literal.getStart()).line + 1;
    out.push({ from: file.path, specifier, target, dynamic, typeOnly, line });
  };
  const visit = (node: ts.Node): void => {
    if (
      (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
      node.moduleSpecifier &&
      ts.isStringLiteralLike(node.moduleSpecifier)
    ) {
      const typeOnly = ts.isImportDeclaration(node)
        ? node.importClause?.isTypeOnly === true
        : node.isTypeOnly;
      add(node.moduleSpecifier, false, typeOnly);
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteralLike(node.arguments[0])
    ) {
      add(node.arguments[0], true);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

/** Whether `specifier` names a Node built-in module (`node:fs`, `fs`, `fs/promises`). */
export function isNodeBuiltin(specifier: string): boolean {
  if (specifier.startsWith('node:')) return true;
  return builtinModules.includes(specifier.split('/')[0]!);
}

/** One function longer than the limit. */
export interface LongFunction {
  /** File from the repository root. */
  readonly path: string;
  /** Function name, or `(anonymous)`. */
  readonly name: string;
  /** 1-based first line. */
  readonly line: number;
  /** Lines from its first to its last. */
  readonly lines: number;
  /** Its leading comment says why it must stay whole (`Kept whole: …`). */
  readonly justified: boolean;
}

/** The marker a leading comment carries when a long function must stay one piece. */
export const KEPT_WHOLE_MARKER = 'Kept whole:';

/** Every function, method, constructor and arrow function of `file` longer than `maxLines`. */
export function longFunctions(file: SourceFile, maxLines: number): LongFunction[] {
  const source = ts.createSourceFile(file.path, file.text, ts.ScriptTarget.ES2022, true);
  const out: LongFunction[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const start = source.getLineAndCharacterOfPosition(node.getStart()).line;
      const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      const lines = end - start + 1;
      if (lines > maxLines) {
        const holder = commentHolder(node);
        const leading = file.text.slice(holder.getFullStart(), holder.getStart());
        out.push({
          path: file.path,
          name: functionName(node),
          line: start + 1,
          lines,
          justified: leading.includes(KEPT_WHOLE_MARKER),
        });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

/** The node whose leading comment documents `fn` (the declaration that holds an arrow function). */
function commentHolder(fn: ts.Node): ts.Node {
  let node = fn;
  while (
    node.parent &&
    (ts.isVariableDeclaration(node.parent) ||
      ts.isVariableDeclarationList(node.parent) ||
      ts.isVariableStatement(node.parent) ||
      ts.isPropertyAssignment(node.parent) ||
      ts.isPropertyDeclaration(node.parent))
  ) {
    node = node.parent;
  }
  return node;
}

function functionName(node: ts.SignatureDeclaration): string {
  if (node.name && ts.isIdentifier(node.name)) return node.name.text;
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  const holder = commentHolder(node);
  if (ts.isVariableStatement(holder)) {
    const declaration = holder.declarationList.declarations[0];
    if (declaration && ts.isIdentifier(declaration.name)) return declaration.name.text;
  }
  return '(anonymous)';
}

/** The repository root (this file is `test/architecture/source-graph.ts`). */
export const REPO_ROOT = resolve(dirname(new URL(import.meta.url).pathname), '..', '..');
