import { promises as fs } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { IoError, LogLockedError } from '../../../domain/errors.js';

/**
 * One writer per log: an exclusive OFD lock (`fcntl(F_OFD_SETLK)`, through holepunch's
 * `fs-native-extensions`) on the `LOCK` file of the log directory.
 *
 * Why OFD and not a pid file: a pid file must be taken over when its writer crashed, and a
 * takeover (read pid, see it dead, remove, create) is a race -- four processes taking over one
 * stale lock ended with two holders in 10 of 15 rounds. An OFD lock belongs to the open file
 * description: the kernel grants it to one description at a time, and releases it when the
 * last descriptor of it closes, which includes the death of the process by SIGKILL. So there
 * is no stale lock and no takeover: a crashed writer's lock is gone the moment it dies.
 *
 * The file is never removed (removing it would let a new process lock a new inode while an
 * old one still holds the unlinked one: two holders again). The pid written into it serves
 * only to name the holder in LogLockedError; it is not what excludes. OFD locks conflict
 * within one process too, so a second writable open in the same process is refused as well.
 */

/** Name of the lock file inside a log directory. */
export const LOCK_FILE_NAME = 'LOCK';

/** The part of fs-native-extensions used here (the package ships no types). */
interface NativeLocks {
  /** Exclusive, non-blocking OFD lock of the whole file: true when taken, false when held elsewhere. */
  tryLock(fd: number): boolean;
  /** Release the lock held through `fd`. */
  unlock(fd: number): void;
}

let nativeLocks: NativeLocks | null = null;

/** Loaded on first use: read-only opens and other stores never load the native addon. */
function locks(): NativeLocks {
  nativeLocks ??= createRequire(import.meta.url)('fs-native-extensions') as NativeLocks;
  return nativeLocks;
}

/** A held writer lock. */
export interface WriteLock {
  /** Path of the lock file. */
  readonly path: string;
  /** Release the lock (the file stays). Idempotent. */
  release(): Promise<void>;
}

async function holderOf(handle: fs.FileHandle): Promise<string> {
  const text = await handle.readFile({ encoding: 'utf8' }).catch(() => '');
  const pid = Number.parseInt(text.trim(), 10);
  return Number.isSafeInteger(pid) && pid > 0 ? `running process ${pid}` : 'another open of this log';
}

/** Take the writer lock of `dir`. Throws LogLockedError naming the holder when another open holds it. */
export async function acquireWriteLock(dir: string): Promise<WriteLock> {
  const lockPath = path.join(dir, LOCK_FILE_NAME);
  let handle: fs.FileHandle;
  try {
    // O_CREAT without O_TRUNC: opening must not change what the holder wrote.
    handle = await fs.open(lockPath, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644);
  } catch (error) {
    throw new IoError(`cannot open lock file ${lockPath}: ${(error as Error).message}`, { cause: error });
  }
  let taken: boolean;
  try {
    taken = locks().tryLock(handle.fd);
  } catch (error) {
    await handle.close();
    throw new IoError(`cannot lock ${lockPath}: ${(error as Error).message}`, { cause: error });
  }
  if (!taken) {
    const holder = await holderOf(handle);
    await handle.close();
    throw new LogLockedError(
      `event log ${dir} is locked by ${holder} (lock file ${lockPath}); stop that process, or open the log read-only`,
    );
  }
  try {
    // No fsync: the pid only names a live holder; after a crash the lock is gone anyway.
    await handle.truncate(0);
    await handle.write(`${process.pid}\n`, 0, 'utf8');
  } catch (error) {
    await handle.close();
    throw new IoError(`cannot write lock file ${lockPath}: ${(error as Error).message}`, { cause: error });
  }
  let released = false;
  return {
    path: lockPath,
    release: async () => {
      if (released) return;
      released = true;
      // Closing the last descriptor of the description releases the OFD lock; unlock first
      // so the lock is gone even if close were delayed.
      try {
        locks().unlock(handle.fd);
      } finally {
        await handle.close();
      }
    },
  };
}
