import { errorMessage } from '../../primitives/error-message.js';

/**
 * A write to the copy target failed (as opposed to a read from the source): the target is
 * expelled, while a source failure only stops the copy until a valid member can be read.
 */
export class TargetError extends Error {
  constructor(override readonly cause: unknown) {
    super(errorMessage(cause));
  }
}
