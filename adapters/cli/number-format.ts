import { formatCount } from '../../domain/copy-planning.js';

/*
 * The one place human output formats numbers, counts and times, so every command says
 * "1 range", "7,771 chunks" and "2026-12-01T08:23:00.000Z" the same way.
 */

/** Irregular plurals of the nouns the CLI counts; anything else takes an "s". */
const IRREGULAR_PLURALS: Readonly<Record<string, string>> = {
  entry: 'entries',
  copy: 'copies',
  policy: 'policies',
};

/** A number with thousands separators: 7771 → "7,771". */
export function formatNumber(n: number): string {
  return formatCount(n);
}

/** The noun for `n` things: plural(1, 'range') → "range", plural(2, 'range') → "ranges". */
export function plural(n: number, singular: string, pluralForm?: string): string {
  if (n === 1) return singular;
  return pluralForm ?? IRREGULAR_PLURALS[singular] ?? `${singular}s`;
}

/** A count with its noun: countOf(1, 'range') → "1 range"; countOf(7771, 'chunk') → "7,771 chunks". */
export function countOf(n: number, singular: string, pluralForm?: string): string {
  return `${formatNumber(n)} ${plural(n, singular, pluralForm)}`;
}

/** A rate in MiB/s with one decimal: 12.34 → "12.3 MiB/s". */
export function formatMiBps(bytesPerSecond: number): string {
  return `${(bytesPerSecond / (1024 * 1024)).toFixed(1)} MiB/s`;
}

/**
 * A time as an ISO-8601 UTC string, the form of every time the CLI prints (human and --json).
 * Accepts epoch milliseconds or a Date; null stays null (a time not known yet).
 */
export function isoTime(time: number | Date): string;
export function isoTime(time: number | Date | null): string | null;
export function isoTime(time: number | Date | null): string | null {
  if (time === null) return null;
  return (typeof time === 'number' ? new Date(time) : time).toISOString();
}
