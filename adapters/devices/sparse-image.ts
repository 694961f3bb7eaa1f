import { type FileHandle, open, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { InvalidArgumentError, NotFoundError } from '../../domain/errors.js';
import { BLOCK_SIZE, MAX_VOLUME_BLOCKS } from '../../domain/geometry.js';
import { errnoCode, fsIoError } from './fs-error.js';
import { statMember } from './member-stat.js';

/**
 * Create a sparse image file of `sizeBytes` at `path`, so a member costs no disk space until
 * written. Idempotent for re-runs: if `path` already is a member (image file or block device)
 * of exactly that size, nothing is touched. Resolves true when a file was created, false when
 * the existing member was kept.
 *
 * Refuses, rather than resizes, an existing member of another size: it may hold someone's data.
 * Does not create missing parent directories: a typo in a path should fail loudly, not leave a
 * fresh tree behind.
 */
export async function createSparseImage(path: string, sizeBytes: number): Promise<boolean> {
  if (
    !Number.isSafeInteger(sizeBytes) ||
    sizeBytes <= 0 ||
    sizeBytes % BLOCK_SIZE !== 0 ||
    sizeBytes > MAX_VOLUME_BLOCKS * BLOCK_SIZE
  ) {
    throw new InvalidArgumentError(
      `cannot create image ${path} of ${sizeBytes} bytes: give a positive multiple of ${BLOCK_SIZE} bytes up to ${MAX_VOLUME_BLOCKS * BLOCK_SIZE}`,
    );
  }
  let handle: FileHandle;
  try {
    // 'wx' (O_EXCL) so two creators racing cannot both think they made it, and an existing
    // file is never truncated. 0600: an image holds a whole volume's data.
    handle = await open(path, 'wx', 0o600);
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'EEXIST') return keepExisting(path, sizeBytes);
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new NotFoundError(
        `cannot create image ${path}: directory ${dirname(path)} does not exist; create it first (mkdir -p ${dirname(path)})`,
      );
    }
    throw fsIoError('creating image', path, error);
  }
  try {
    await handle.truncate(sizeBytes);
    await handle.sync();
  } catch (error) {
    await handle.close().catch(() => undefined);
    // A half-made image of the wrong size would be refused on the next run; remove it.
    await unlink(path).catch(() => undefined);
    throw fsIoError(`sizing (to ${sizeBytes} bytes) image`, path, error);
  }
  await handle.close();
  await syncDirectory(dirname(path));
  return true;
}

/** `path` exists: accept it only if it is a member of the requested size. */
async function keepExisting(path: string, sizeBytes: number): Promise<boolean> {
  const existing = await statMember(path);
  if (existing.sizeBytes !== sizeBytes) {
    throw new InvalidArgumentError(
      `cannot create image ${path} of ${sizeBytes} bytes: it already exists with ${existing.sizeBytes} bytes; remove it if its data is not needed, or choose another path`,
    );
  }
  return false;
}

/** fsync a directory so the new file's name survives a crash, not only its data. */
async function syncDirectory(directory: string): Promise<void> {
  let handle: FileHandle;
  try {
    handle = await open(directory, 'r');
  } catch (error) {
    throw fsIoError('opening directory to sync', directory, error);
  }
  try {
    await handle.sync();
  } catch (error) {
    // Some file systems (e.g. certain FUSE mounts) refuse fsync on directories; the file is made.
    if (errnoCode(error) !== 'EINVAL') throw fsIoError('syncing directory', directory, error);
  } finally {
    await handle.close();
  }
}
