import { ShadowlogError } from '../../domain/errors.js';

/**
 * Whether the engine is open, closing or closed. Background work (copies, merge, syncs)
 * looks at `closing` between I/O units and stops there; operator commands are refused from
 * the moment close begins.
 */
export class EngineLifecycle {
  /** True once close has begun: background work stops at its next I/O unit. */
  closing = false;
  /** True once close has finished: every device is closed. */
  closed = false;

  /** Throw unless the engine is open. */
  assertOpen(): void {
    if (this.closing || this.closed) throw closingError();
  }
}

/** The error a command or write gets while the engine closes. */
export function closingError(): ShadowlogError {
  return new ShadowlogError('COMMAND_REJECTED', 'the shadow set is closing');
}
