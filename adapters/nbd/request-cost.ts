import {
  MAX_BLOCK_STATUS_EXTENTS,
  MAX_ERROR_MESSAGE_BYTES,
  MIN_BLOCK_SIZE_BYTES,
  NbdCommand,
  REQUEST_OVERHEAD_BYTES,
} from './nbd-constants.js';
import type { NbdRequest, RequestRejection } from './nbd-request.js';

/**
 * Bytes a request may hold until its reply is flushed: its payload or reply data (reads are
 * charged a block of widening at each end), block-status descriptors, a fixed overhead. Both
 * the connection's and the server's in-flight budgets charge it.
 */
export function costOf(
  request: NbdRequest,
  rejection: RequestRejection | undefined,
  contexts: number,
): number {
  if (rejection) return REQUEST_OVERHEAD_BYTES + MAX_ERROR_MESSAGE_BYTES;
  switch (request.type) {
    case NbdCommand.READ:
      return REQUEST_OVERHEAD_BYTES + request.length + 2 * MIN_BLOCK_SIZE_BYTES;
    case NbdCommand.WRITE:
      return REQUEST_OVERHEAD_BYTES + request.length;
    case NbdCommand.BLOCK_STATUS: {
      const extents = Math.min(
        MAX_BLOCK_STATUS_EXTENTS,
        Math.ceil(request.length / MIN_BLOCK_SIZE_BYTES) + 1,
      );
      return REQUEST_OVERHEAD_BYTES + contexts * (24 + 8 * extents) + MAX_ERROR_MESSAGE_BYTES;
    }
    default:
      return REQUEST_OVERHEAD_BYTES + MAX_ERROR_MESSAGE_BYTES;
  }
}
