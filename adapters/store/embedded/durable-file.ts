import { promises as fs } from 'node:fs';
import path from 'node:path';
import { IoError } from '../../../domain/errors.js';

/**
 * Small durable-file helpers. A file replaced "atomically" is written to `<name>.tmp`,
 * fsynced, renamed over `<name>`, and the directory fsynced: after a crash the name holds
 * either the old or the new contents, never a mix. Leftover `.tmp` files are debris of a
 * crash between write and rename; writers delete them at open.
 */

/** Suffix of files being written. */
export const TEMP_SUFFIX = '.tmp';

/** Wrap a Node error with the path it concerns. */
export function ioError(action: string, filePath: string, error: unknown): IoError {
  return new IoError(`cannot ${action} ${filePath}: ${(error as Error).message}`, { cause: error });
}

/** True for the errors of a full file system or an exhausted quota: recoverable once space is freed. */
export function isNoSpace(error: unknown): boolean {
  // Errors wrapped by ioError carry the original as `cause`.
  for (let e = error as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 4; depth++) {
    if (e.code === 'ENOSPC' || e.code === 'EDQUOT') return true;
    e = e.cause as typeof e;
  }
  return false;
}

/** fsync a directory so renames and creations in it are durable. */
export async function fsyncDirectory(dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch (error) {
    throw ioError('fsync directory', dir, error);
  } finally {
    await handle?.close();
  }
}

/** Write `bytes` to `dir/name` via temp file + fsync + rename; `syncDir` false lets a caller batch the directory fsync. */
export async function writeFileAtomically(
  dir: string,
  name: string,
  bytes: Uint8Array,
  syncDir = true,
): Promise<void> {
  const finalPath = path.join(dir, name);
  const tempPath = `${finalPath}${TEMP_SUFFIX}`;
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(tempPath, 'w');
    await handle.write(bytes, 0, bytes.length, 0);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fs.rename(tempPath, finalPath);
  } catch (error) {
    await handle?.close().catch(() => undefined);
    // A temp file left by a full disk would hold on to the space the retry needs.
    await fs.rm(tempPath, { force: true }).catch(() => undefined);
    throw ioError('write', finalPath, error);
  }
  if (syncDir) await fsyncDirectory(dir);
}

/** Read a whole file; null when it does not exist. */
export async function readFileOrNull(filePath: string): Promise<Buffer | null> {
  try {
    return await fs.readFile(filePath);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw ioError('read', filePath, error);
  }
}
