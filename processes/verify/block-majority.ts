/**
 * Which members hold the odd bytes of one block. Verify cannot know which copy is right; the
 * best evidence it has is agreement: with three or more members the bytes most of them hold
 * win, and the others are the ones to repair. With two members (or a tie) nothing wins.
 */

/** Outcome of one differing block. */
export type BlockVerdict =
  /** These member indexes differ from a strict majority of the members. */
  | { readonly kind: 'outliers'; readonly indexes: readonly number[] }
  /** No group of equal copies is a strict majority (two members, or a tie). */
  | { readonly kind: 'no-majority' };

/**
 * Group the members' copies of a block by equality and name the ones outside a strict
 * majority. `blocks` holds one copy per member (2-6: quadratic is fine).
 */
export function blockMajority(blocks: readonly Uint8Array[]): BlockVerdict {
  const n = blocks.length;
  for (let i = 0; i < n; i++) {
    const agreeing: number[] = [];
    for (let j = 0; j < n; j++) {
      if (i === j || Buffer.compare(blocks[i]!, blocks[j]!) === 0) agreeing.push(j);
    }
    if (agreeing.length * 2 > n) {
      const outliers: number[] = [];
      for (let j = 0; j < n; j++) if (!agreeing.includes(j)) outliers.push(j);
      return { kind: 'outliers', indexes: outliers };
    }
  }
  return { kind: 'no-majority' };
}
