import type { SetOrigin } from '../../domain/events.js';

/** The origin in a sentence, for `create`, `show` and `explain`; null for a log
 * written before origins were recorded. */
export function describeOrigin(origin: SetOrigin | null): string {
  if (origin === null)
    return 'origin not recorded (an older shadowlog, or VirtualUnit.create): every member was taken as valid';
  switch (origin.kind) {
    case 'fresh':
      return 'origin fresh: every member is a new sparse image (all zeroes), no initial copy';
    case 'assume-clean':
      return 'origin assume-clean: the operator asserted the members hold the same data (--assume-clean), no initial copy';
    case 'copied':
      return `origin copied: initial full copy to ${origin.copied.join(', ')} (may differ from m1)`;
  }
}
