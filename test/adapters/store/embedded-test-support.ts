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
