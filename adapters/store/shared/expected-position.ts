import { WrongExpectedPositionError } from '../../../domain/errors.js';

/**
 * Optimistic concurrency, the same in every store: an append that names an
 * `expectedPosition` goes only where its first event gets exactly that position. Every store
 * asks this one function, so all of them refuse with the same error type and message (the
 * contract suite checks the type and its fields). The argument itself (a non-negative safe
 * integer) is checked at the call, by `checkExpectedPosition` in store-arguments.ts.
 */

/**
 * The refusal of an append expecting `expected` when its first event would get `next`, or
 * null when it may go there (also when it expects nothing). Allocates only on a refusal.
 */
export function expectedPositionRefusal(
  expected: number | undefined,
  next: number,
): WrongExpectedPositionError | null {
  return expected === undefined || expected === next ? null : new WrongExpectedPositionError(expected, next);
}
