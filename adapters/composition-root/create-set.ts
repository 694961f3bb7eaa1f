import { mkdir, rm } from 'node:fs/promises';
import { CommandRejectedError } from '../../domain/errors.js';
import { VirtualUnit } from '../../processes/virtual-unit.js';
import { FileMemberAccess } from '../devices/file-member-access.js';
import { createSparseImage } from '../devices/sparse-image.js';
import type { SetPaths } from './set-home.js';
import { openSetStore, setExists } from './set-store.js';

/** What a new set looks like. */
export interface NewSet {
  /** Volume size; a positive multiple of 512. */
  readonly sizeBytes: number;
  /** Blocks per bitmap chunk; the domain's default (127) when omitted. */
  readonly chunkBlocks?: number;
  /** Absolute member paths, 2 to 6; missing image files are created sparse. */
  readonly memberPaths: readonly string[];
}

/**
 * Create a set: its directory, its log holding SetCreated, and sparse images for members that do
 * not exist yet. Nothing is left behind when it fails: no set directory, no new image files.
 * Resolves with the member paths whose image files it created.
 */
export async function createSet(paths: SetPaths, home: string, spec: NewSet): Promise<string[]> {
  if (await setExists(paths)) {
    throw new CommandRejectedError(
      `shadow set '${paths.set}' exists already in ${home}; pick another name or --home`,
    );
  }
  const count = spec.memberPaths.length;
  if (count < 2 || count > 6) {
    throw new CommandRejectedError(`a shadow set has 2 to 6 members; ${count} --member given`);
  }
  const created: string[] = [];
  await mkdir(paths.dir, { recursive: true });
  try {
    const store = await openSetStore(paths);
    try {
      for (const path of spec.memberPaths)
        if (await createSparseImage(path, spec.sizeBytes)) created.push(path);
      await VirtualUnit.create(store, new FileMemberAccess(), {
        setId: paths.set,
        blocks: spec.sizeBytes / 512,
        chunkBlocks: spec.chunkBlocks,
        memberPaths: spec.memberPaths,
      });
    } finally {
      await store.close();
    }
  } catch (error) {
    await rm(paths.dir, { recursive: true, force: true });
    for (const path of created) await rm(path, { force: true });
    throw error;
  }
  return created;
}
