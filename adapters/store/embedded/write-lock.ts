import { promises as fs } from 'node:fs';
import path from 'node:path';
import { IoError, LogLockedError } from '../../../domain/errors.js';

/**
 * One writer per log: a `LOCK` file holding the writer's pid, created with O_EXCL. A lock
 * whose pid is not alive (`process.kill(pid, 0)` fails with ESRCH) is stale -- its writer
 * crashed -- and is taken over; a live one is refused with LogLockedError naming pid and path.
 * A pid in use by an unrelated process keeps the lock: refusing is the safe side.
 */

/** Name of the lock file inside a log directory. */
export const LOCK_FILE_NAME = 'LOCK';
/** Attempts at creating the lock; each failed attempt removed a stale lock, so 3 is plenty. */
const MAX_LOCK_ATTEMPTS = 3;

/** A held writer lock. */
export interface WriteLock {
  /** Path of the lock file. */
  readonly path: string;
  /** Remove the lock file (only if it is still ours). */
  release(): Promise<void>;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else -- alive.
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

async function readPid(lockPath: string): Promise<number | null> {
  let text: string;
  try {
    text = await fs.readFile(lockPath, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new IoError(`cannot read lock file ${lockPath}: ${(error as Error).message}`, { cause: error });
  }
  const pid = Number.parseInt(text.trim(), 10);
  // An empty or garbled lock: its writer died between create and write. Treat as pid 0 (stale).
  return Number.isSafeInteger(pid) && pid > 0 ? pid : 0;
}

/** Take the writer lock of `dir`. Throws LogLockedError when a live process holds it. */
export async function acquireWriteLock(dir: string): Promise<WriteLock> {
  const lockPath = path.join(dir, LOCK_FILE_NAME);
  const me = String(process.pid);
  for (let attempt = 0; attempt < MAX_LOCK_ATTEMPTS; attempt++) {
    try {
      const handle = await fs.open(lockPath, 'wx');
      try {
        // No fsync: the lock only matters while its process lives; after a crash the pid
        // in it is dead (or the file is empty), and either way the lock is stale.
        await handle.writeFile(`${me}\n`);
      } finally {
        await handle.close();
      }
      // Two processes taking over the same stale lock at once could both get here; the
      // one whose pid is not in the file lost the race.
      const holder = await readPid(lockPath);
      if (holder !== process.pid) {
        throw new LogLockedError(`event log ${dir} is locked by process ${holder} (lock file ${lockPath})`);
      }
      return {
        path: lockPath,
        release: async () => {
          if ((await readPid(lockPath)) === process.pid) await fs.rm(lockPath, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        if (error instanceof LogLockedError) throw error;
        throw new IoError(`cannot create lock file ${lockPath}: ${(error as Error).message}`, {
          cause: error,
        });
      }
    }
    const pid = await readPid(lockPath);
    if (pid === null) continue; // Released meanwhile: try again.
    if (pid > 0 && isAlive(pid)) {
      throw new LogLockedError(
        `event log ${dir} is locked by running process ${pid} (lock file ${lockPath}); stop that process, or open the log read-only`,
      );
    }
    await fs.rm(lockPath, { force: true });
  }
  throw new LogLockedError(
    `event log ${dir}: could not take the lock file ${lockPath}; another process keeps taking it`,
  );
}
