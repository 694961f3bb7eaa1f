import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { RecordedEvent } from '../../../domain/events.js';
import type { EventStore } from '../../../domain/ports/event-store.js';

/** A fresh temporary directory; `remove` deletes it. */
export async function tempDir(
  prefix = 'shadowlog-embedded-',
): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Every event of a store from `from`. */
export async function readEvents(store: EventStore, from = 0, to?: number): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for await (const batch of store.read(from, to)) for (const e of batch) out.push(e);
  return out;
}

/** Every file of `dir` with its bytes, by name (a directory's "listing", contents included). */
export async function snapshotDirectory(dir: string): Promise<Map<string, Buffer>> {
  const { readdir, readFile } = await import('node:fs/promises');
  const files = new Map<string, Buffer>();
  for (const name of (await readdir(dir)).sort()) files.set(name, await readFile(path.join(dir, name)));
  return files;
}

/** Put `dir` back to `files`: remove what is not in it, rewrite the rest. */
export async function restoreDirectory(dir: string, files: Map<string, Buffer>): Promise<void> {
  const { readdir, writeFile } = await import('node:fs/promises');
  for (const name of await readdir(dir))
    if (!files.has(name)) await rm(path.join(dir, name), { force: true });
  for (const [name, bytes] of files) await writeFile(path.join(dir, name), bytes);
}
