import { IoError } from '../../domain/errors.js';
import { errorMessage } from '../../primitives/error-message.js';

/** The errno name (`ENOENT`, `EIO`, ...) of a Node.js system error, or undefined for anything else. */
export function errnoCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/**
 * Wrap a failed file-system call in an {@link IoError} whose message names the action, the path,
 * the errno and, for the errnos an operator can act on, the fix. The original error is kept as
 * `cause` so nothing is lost for debugging.
 */
export function fsIoError(action: string, path: string, error: unknown): IoError {
  const code = errnoCode(error) ?? 'unknown error';
  const detail = errorMessage(error);
  return new IoError(`${action} ${path} failed (${code}): ${detail}${fixFor(code)}`, { cause: error });
}

/** A hint for the errnos that have an obvious remedy; empty otherwise. */
function fixFor(code: string): string {
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return '; run shadowlog as a user allowed to open it, or change its permissions';
    case 'EROFS':
      return '; the file system is read-only: remount it read-write or open the member read-only';
    case 'ENOSPC':
      return '; the file system is full: free space or move the image';
    case 'EBUSY':
      return '; another program holds the device: unmount it or stop that program';
    default:
      return '';
  }
}
