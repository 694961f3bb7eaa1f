/**
 * Output of a command: human text by default; with `--json`, exactly one JSON document on
 * stdout and nothing else there (progress and notes go to stderr).
 */
export class Output {
  constructor(
    /** True with --json. */
    readonly json: boolean,
    private readonly out: NodeJS.WritableStream = process.stdout,
    private readonly err: NodeJS.WritableStream = process.stderr,
  ) {}

  /** A line of human output (suppressed with --json). */
  line(text = ''): void {
    if (!this.json) this.out.write(`${text}\n`);
  }

  /** A note for the operator: stderr, so it never mixes with --json output. */
  note(text: string): void {
    this.err.write(`${text}\n`);
  }

  /** The command's result: the JSON document with --json, else `human()`'s lines. */
  result(document: unknown, human: () => void): void {
    if (this.json) this.out.write(`${JSON.stringify(document, null, 2)}\n`);
    else human();
  }

  /** True when stderr is a terminal (progress bars). */
  get interactive(): boolean {
    return (this.err as NodeJS.WriteStream).isTTY === true;
  }
}

/** Left-aligned table rows for human output. */
export function table(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return rows.map((row) =>
    row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '),
  );
}
