import type { CommandOutcome } from './nbd-command-executor.js';
import { NBD_REPLY_FLAG_DONE } from './nbd-constants.js';
import {
  encodeBlockStatusChunk,
  encodeErrorChunk,
  encodeNoneChunk,
  encodeOffsetDataHeader,
  encodeSimpleReply,
} from './nbd-reply-encoder.js';

/** The buffers of one reply to the request with `cookie`, written back to back (one writev). */
export function replyParts(cookie: bigint, outcome: CommandOutcome, structured: boolean): Buffer[] {
  const parts: Buffer[] = [];
  switch (outcome.kind) {
    case 'error':
      parts.push(
        structured
          ? encodeErrorChunk(cookie, outcome.errno, outcome.message)
          : encodeSimpleReply(cookie, outcome.errno),
      );
      break;
    case 'done':
      // Allowed for every command but READ even with structured replies, and the cheapest.
      parts.push(encodeSimpleReply(cookie, 0));
      break;
    case 'data':
      if (!structured) {
        parts.push(encodeSimpleReply(cookie, 0));
        if (outcome.data.length > 0) parts.push(outcome.data);
      } else if (outcome.data.length === 0) {
        parts.push(encodeNoneChunk(cookie));
      } else {
        // The data is all in hand before the chunk starts, so no error can follow: DONE on the data chunk.
        parts.push(
          encodeOffsetDataHeader(cookie, NBD_REPLY_FLAG_DONE, outcome.offset, outcome.data.length),
          outcome.data,
        );
      }
      break;
    case 'extents':
      outcome.contexts.forEach((context, index) => {
        const flags = index === outcome.contexts.length - 1 ? NBD_REPLY_FLAG_DONE : 0;
        parts.push(encodeBlockStatusChunk(cookie, flags, context.contextId, context.extents));
      });
      if (outcome.contexts.length === 0) parts.push(encodeNoneChunk(cookie));
      break;
  }
  return parts;
}
