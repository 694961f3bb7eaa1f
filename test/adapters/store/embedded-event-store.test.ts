import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type EmbeddedStoreOptions, openEmbeddedStore } from '../../../adapters/store/embedded/index.js';
import { storeContract } from '../../store-contract.js';

async function embeddedFactory(options: EmbeddedStoreOptions) {
  const dir = await mkdtemp(path.join(tmpdir(), 'shadowlog-store-'));
  const all = {
    streamId: 'DSA1',
    subscriptionLimits: { maxQueuedBatches: 8, maxQueuedEvents: 64 },
    ...options,
  };
  const store = await openEmbeddedStore(dir, all);
  const opened = [store];
  return {
    store,
    reopen: async () => {
      const again = await openEmbeddedStore(dir, all);
      opened.push(again);
      expect(again.recovery.truncated).toBe(false);
      return again;
    },
    cleanup: async () => {
      for (const s of opened) await s.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

storeContract('embedded (default segments)', () => embeddedFactory({}));
// 64 KiB segments: the volume tests roll over dozens of segments, mid-read and mid-subscription.
storeContract('embedded (64 KiB segments, small batches and queue)', () =>
  embeddedFactory({
    segmentBytes: 64 * 1024,
    maxBatchBytes: 4096,
    maxQueuedBytes: 64 * 1024,
    maxQueuedEvents: 500,
  }),
);

describe('embedded store options', () => {
  it('refuses a bad segment size and a missing stream id', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'shadowlog-store-'));
    try {
      await expect(openEmbeddedStore(dir, { streamId: 'x', segmentBytes: 10 })).rejects.toThrow(
        /segmentBytes/,
      );
      await expect(openEmbeddedStore(path.join(dir, 'new'), {})).rejects.toThrow(/needs a streamId/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
