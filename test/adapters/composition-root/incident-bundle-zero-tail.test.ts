import { createHash } from 'node:crypto';
import { appendFile, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { exportBundle } from '../../../adapters/composition-root/incident-bundle-export.js';
import { BUNDLE_LOG_DIR } from '../../../adapters/composition-root/incident-bundle-manifest.js';
import { checkLog, openEmbeddedStore } from '../../../adapters/store/embedded/index.js';
import { numberedWrite } from '../../fixtures/sample-events.js';
import { readEvents, tempDir } from '../store/embedded-test-support.js';

/**
 * An incident bundle of a log whose active segment has a zero tail (zero-fill-ahead.ts): the
 * bundle's log holds the data only -- every segment ends at its last seal -- and its manifest's
 * sizes and SHA-256 are those of the files.
 */
describe('incident bundle of a log with a zero tail', () => {
  it('copies only the data', async () => {
    const { dir, remove } = await tempDir('shadowlog-bundle-zt-');
    try {
      const logDir = path.join(dir, 'log');
      const writer = await openEmbeddedStore(logDir, { streamId: 'ZTB' });
      const events = Array.from({ length: 50 }, (_, i) => numberedWrite(i));
      for (const e of events) await writer.append([e]);
      await writer.close();
      const segment = (await readdir(logDir)).find((n) => n.endsWith('.seg'))!;
      await appendFile(path.join(logDir, segment), Buffer.alloc(256 * 1024));
      const store = await openEmbeddedStore(logDir, { readOnly: true });
      expect(store.recovery.truncated).toBe(false);
      const out = path.join(dir, 'bundle');
      const result = await exportBundle({
        store,
        set: 'ZTB',
        fromPosition: 0,
        toPosition: 49,
        out,
        projectionsAt: () => Promise.reject(new Error('no projection before position 0')),
        shadowlogVersion: 'test',
      });
      await store.close();
      for (const file of result.manifest.files) {
        const bytes = await readFile(path.join(out, file.path));
        expect(bytes.length, file.path).toBe(file.sizeBytes);
        expect(createHash('sha256').update(bytes).digest('hex'), file.path).toBe(file.sha256);
      }
      const bundleLog = path.join(out, BUNDLE_LOG_DIR);
      const copy = await openEmbeddedStore(bundleLog, { readOnly: true });
      for (const s of copy.segments()) {
        expect((await readFile(path.join(bundleLog, s.name))).length, s.name).toBe(s.bytes);
      }
      expect((await readEvents(copy)).map((r) => r.event)).toEqual(events);
      await copy.close();
      expect((await checkLog(bundleLog)).ok).toBe(true);
    } finally {
      await remove();
    }
  }, 60_000);
});
