import type { RecordedEvent, ShadowEvent } from '../../domain/events.js';
import type { ShadowCommand } from '../../domain/shadow-set-commands.js';
import { decide } from '../../domain/shadow-set-decider.js';
import { evolve, initialState, type ShadowSetState } from '../../domain/shadow-set-state.js';

/**
 * Runs commands through decide + evolve with positions and a fake clock, keeping the
 * recorded log, the way an engine would with a store. For domain and projection tests.
 */
export class SetHarness {
  readonly state: ShadowSetState = initialState();
  readonly log: RecordedEvent[] = [];
  private clockMs = Date.UTC(2026, 0, 1);

  /** Decide and fold; returns the recorded events (throws what decide throws). */
  run(command: ShadowCommand): RecordedEvent[] {
    return this.record(decide(command, this.state));
  }

  /** Fold events as if decided (for building logs directly). */
  record(events: readonly ShadowEvent[]): RecordedEvent[] {
    const out: RecordedEvent[] = [];
    for (const event of events) {
      this.clockMs += 7;
      const recorded = { position: this.log.length, recordedAt: this.clockMs, event };
      this.log.push(recorded);
      evolve(this.state, recorded);
      out.push(recorded);
    }
    return out;
  }

  /** Create a set of `members` members of `blocks` blocks. */
  static create(blocks = 127 * 100, members = 3, chunkBlocks = 127): SetHarness {
    const h = new SetHarness();
    h.run({
      type: 'CreateSet',
      setId: 'DSA1',
      blocks,
      chunkBlocks,
      memberPaths: Array.from({ length: members }, (_, i) => `/dev/m${i + 1}.img`),
      memberSizesBytes: Array.from({ length: members }, () => blocks * 512),
    });
    return h;
  }
}

/** A fingerprint for tests; `tag` changes the mtime. */
export function fingerprint(sizeBytes: number, tag = 0) {
  return { sizeBytes, inode: 42, mtimeMs: 1_000 + tag, samples: [{ chunk: 0, hash: 'aa' }] };
}
