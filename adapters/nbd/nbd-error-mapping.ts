import { ShadowlogError } from '../../domain/errors.js';
import { MAX_ERROR_MESSAGE_BYTES, NbdErrno, type NbdErrnoValue } from './nbd-constants.js';

/** The kinds of request whose failures are mapped; writes differ (ENOSPC past the end). */
export type NbdOperation = 'read' | 'write' | 'trim' | 'write-zeroes' | 'flush' | 'block-status' | 'cache';

/** Node system error codes that have a better NBD value than EIO (spec: map EDQUOT/EFBIG to ENOSPC). */
const SYSTEM_CODES: Readonly<Record<string, NbdErrnoValue>> = {
  ENOSPC: NbdErrno.ENOSPC,
  EDQUOT: NbdErrno.ENOSPC,
  EFBIG: NbdErrno.ENOSPC,
  EROFS: NbdErrno.EPERM,
  EPERM: NbdErrno.EPERM,
  EACCES: NbdErrno.EPERM,
  EINVAL: NbdErrno.EINVAL,
};

function isWrite(operation: NbdOperation): boolean {
  return operation === 'write' || operation === 'write-zeroes';
}

/**
 * The NBD error value for a backend failure. Shadowlog's own codes come first; a raw Node system
 * error (a backend that let one escape) is mapped by its errno name; anything else is EIO, the
 * only honest answer when we do not know what happened.
 */
export function nbdErrnoFor(error: unknown, operation: NbdOperation): NbdErrnoValue {
  if (error instanceof ShadowlogError) {
    switch (error.code) {
      case 'OUT_OF_RANGE':
        return isWrite(operation) ? NbdErrno.ENOSPC : NbdErrno.EINVAL;
      case 'INVALID_ARGUMENT':
        return NbdErrno.EINVAL;
      default:
        return NbdErrno.EIO;
    }
  }
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && code in SYSTEM_CODES) return SYSTEM_CODES[code]!;
  }
  return NbdErrno.EIO;
}

/** A message safe to send to a client: one line, bounded, never the stack. */
export function describeError(error: unknown): string {
  const raw = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return clipUtf8(raw.replace(/[\r\n\0]+/g, ' '), MAX_ERROR_MESSAGE_BYTES);
}

/** Cut a string to at most `maxBytes` UTF-8 bytes without splitting a character. */
export function clipUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  let bytes = 0;
  let end = 0;
  for (const ch of text) {
    const size = Buffer.byteLength(ch);
    if (bytes + size > maxBytes) break;
    bytes += size;
    end += ch.length;
  }
  return text.slice(0, end);
}
