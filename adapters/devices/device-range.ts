import { InvalidArgumentError, OutOfRangeError } from '../../domain/errors.js';
import { BLOCK_SIZE } from '../../domain/geometry.js';

/**
 * Check one device access before it reaches the medium. Shared by every device so that the
 * file device, the in-memory model and the fault-injecting wrapper refuse exactly the same
 * requests with the same error classes (the model-based tests rely on that).
 *
 * - a non-integer or unaligned offset or length can never be valid: {@link InvalidArgumentError};
 * - an aligned range that starts before 0 or ends past the device: {@link OutOfRangeError}.
 *
 * A zero-length access inside the device (offset up to and including the end) is allowed and
 * does nothing: refusing it would only push a special case onto every caller.
 */
export function checkDeviceAccess(name: string, sizeBytes: number, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || offset % BLOCK_SIZE !== 0) {
    throw new InvalidArgumentError(
      `${name}: offset ${offset} is not a whole multiple of ${BLOCK_SIZE} bytes; devices are read and written in ${BLOCK_SIZE}-byte blocks`,
    );
  }
  if (!Number.isSafeInteger(length) || length % BLOCK_SIZE !== 0) {
    throw new InvalidArgumentError(
      `${name}: length ${length} is not a whole multiple of ${BLOCK_SIZE} bytes; pass a buffer of whole ${BLOCK_SIZE}-byte blocks`,
    );
  }
  if (offset < 0 || offset + length > sizeBytes) {
    throw new OutOfRangeError(
      `${name}: bytes ${offset}-${offset + length - 1} are outside the device (0-${sizeBytes - 1}, ${sizeBytes} bytes)`,
    );
  }
}
