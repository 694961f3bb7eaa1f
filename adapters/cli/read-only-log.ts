import type { EventStore } from '../../domain/ports/event-store.js';
import type { SetPaths } from '../composition-root/set-home.js';
import { openSetReadOnly } from '../composition-root/set-store.js';
import type { CommandContext } from './command-context.js';

/**
 * Run `fn` with the set's log open read-only (safe while a server appends to it), closing the
 * log afterwards. The read-only commands (show, audit, explain, replay) all start here.
 */
export async function withReadOnlyLog<T>(
  ctx: CommandContext,
  paths: SetPaths,
  fn: (store: EventStore) => Promise<T>,
): Promise<T> {
  return withOpenLog(await openSetReadOnly(paths, ctx.home), fn);
}

/** Run `fn` with an opened log, closing it afterwards. */
export async function withOpenLog<T>(store: EventStore, fn: (store: EventStore) => Promise<T>): Promise<T> {
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}
