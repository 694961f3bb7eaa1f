import { describe, expect, it } from 'vitest';
import { KEPT_WHOLE_MARKER, longFunctions, REPO_ROOT, readSources, SOURCE_ROOTS } from './source-graph.js';

/** A file past this many lines likely holds two concepts (docs/design.md, "Layers and folders"). */
const MAX_FILE_LINES = 400;
/** A function past this many lines reads better split, unless its comment says why not. */
const MAX_FUNCTION_LINES = 70;

const sources = readSources(REPO_ROOT, [...SOURCE_ROOTS, 'bench']);

describe('source shape', () => {
  it(`no source file is longer than ${MAX_FILE_LINES} lines`, () => {
    const long = sources
      .map((f) => ({ path: f.path, lines: f.text.split('\n').length }))
      .filter((f) => f.lines > MAX_FILE_LINES)
      .map((f) => `${f.path}: ${f.lines} lines`);
    expect(long).toEqual([]);
  });

  it(`no function is longer than ${MAX_FUNCTION_LINES} lines unless its comment says "${KEPT_WHOLE_MARKER}"`, () => {
    const long = sources
      .flatMap((f) => longFunctions(f, MAX_FUNCTION_LINES))
      .filter((f) => !f.justified)
      .map((f) => `${f.path}:${f.line} ${f.name}: ${f.lines} lines`);
    expect(long).toEqual([]);
  });

  it('finds a long function and honours the marker', () => {
    const body = Array.from({ length: 80 }, (_, i) => `  const v${i} = ${i};`).join('\n');
    const text = `function long(): void {\n${body}\n}\n/** ${KEPT_WHOLE_MARKER} one state machine. */\nconst whole = (): void => {\n${body}\n};\n`;
    const found = longFunctions({ path: 'x.ts', text }, MAX_FUNCTION_LINES);
    expect(found.map((f) => [f.name, f.justified])).toEqual([
      ['long', false],
      ['whole', true],
    ]);
  });
});
