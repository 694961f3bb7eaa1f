import { randomBytes } from 'node:crypto';
import { constants, type FileHandle, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fsIoError } from '../devices/fs-error.js';

/** Flags of the temporary file: a new file (never an existing one, never through a link). */
const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/**
 * Publish `content` at `target` with exactly `mode`, safely in a directory others may have
 * written: a fresh temporary file beside it (O_CREAT|O_EXCL|O_NOFOLLOW, so nothing existing
 * is opened and no link is followed), its mode set on the handle (the umask cannot widen or
 * narrow it), then renamed over `target`. rename(2) replaces the directory entry: an old file
 * keeps neither its content nor its mode, and a symlink at `target` is replaced, its target
 * left untouched. Readers see the old file or the new one, never a part.
 */
export async function publishFile(target: string, content: string, mode: number): Promise<void> {
  const temporary = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
  let handle: FileHandle;
  try {
    handle = await open(temporary, CREATE_FLAGS, mode);
  } catch (error) {
    throw fsIoError('creating', temporary, error);
  }
  try {
    try {
      await handle.chmod(mode);
      await handle.writeFile(content);
    } finally {
      await handle.close();
    }
    await rename(temporary, target);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw fsIoError('publishing', target, error);
  }
}
