import { IoError } from '../../domain/errors.js';
import type { ShadowSetState } from '../../domain/shadow-set-state.js';
import type { ProjectionFollower } from '../queries/projection-follower.js';

/** How often the folded state is looked at while waiting for other hosts. */
const POLL_MS = 5;

/**
 * Several hosts: wait until the folded state satisfies `done` (every host acknowledged a
 * step), bounded by `timeoutMs`; a host that is down makes it time out, naming the step.
 */
export async function waitForAcknowledgements(
  follower: ProjectionFollower,
  done: (state: ShadowSetState) => boolean,
  what: string,
  timeoutMs: number,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  // Bounded by the deadline.
  while (!done(follower.state.set)) {
    if (performance.now() > deadline) {
      const hosts = follower.state.set.hosts.join(', ');
      throw new IoError(
        `timed out after ${timeoutMs} ms waiting for ${what} (hosts: ${hosts}); is a host down?`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
