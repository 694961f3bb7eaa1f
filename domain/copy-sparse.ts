import type { SetOrigin } from './events.js';

/**
 * Whether a set's log can vouch that a chunk it never saw written reads as zeroes on every
 * member (what md's lockless bitmap calls "unwritten"): only when the set began on fresh sparse
 * members. Returns why it cannot, in words for CopyStarted's reason; null when it can.
 */
export function originDoubt(origin: SetOrigin | null | undefined): string | null {
  if (origin === undefined || origin === null)
    return 'the log was written before set origins were recorded, so it cannot tell which chunks were never written';
  if (origin.kind === 'assume-clean')
    return 'the set was created with --assume-clean, so the members may hold data the log never saw';
  if (origin.kind === 'copied')
    return 'the set was created from members that held data, so the log cannot tell which chunks were never written';
  return null;
}

/** The sentence a full copy's reason ends with: what it does with chunks never written. */
export function sparseCopyNote(origin: SetOrigin | null | undefined): string {
  const doubt = originDoubt(origin);
  return doubt === null
    ? 'chunks never written since the fresh create are zeroed on the target (holes), not copied'
    : `every chunk copied: ${doubt}`;
}
