import { join } from 'node:path';
import { FileMemberAccess } from '../adapters/devices/file-member-access.js';
import { createSparseImage } from '../adapters/devices/sparse-image.js';
import { startSetNbdServer } from '../adapters/nbd/shadow-set-export.js';
import { openEmbeddedStore } from '../adapters/store/embedded/index.js';
import { VirtualUnit } from '../processes/virtual-unit.js';
import type { ShadowlogUnderTest } from './nbd-bench.js';

/** Bytes of the benchmark set. */
const SET_BYTES = 1024 * 1024 * 1024;

/**
 * A 2-member shadowlog set on image files in `dir`, served over NBD on a random loopback port;
 * its log in `logDir` (default `dir/sl-log`).
 */
export async function startShadowlogForBench(dir: string, logDir?: string): Promise<ShadowlogUnderTest> {
  const paths = [join(dir, 'sl-m1.img'), join(dir, 'sl-m2.img')];
  for (const path of paths) await createSparseImage(path, SET_BYTES);
  const store = await openEmbeddedStore(logDir ?? join(dir, 'sl-log'), { streamId: 'bench' });
  const access = new FileMemberAccess();
  await VirtualUnit.create(store, access, { setId: 'bench', blocks: SET_BYTES / 512, memberPaths: paths });
  const unit = await VirtualUnit.open({ store, access, recover: false });
  const server = await startSetNbdServer(unit, 'bench', { host: '127.0.0.1', port: 0 });
  return {
    uri: `nbd://127.0.0.1:${server.address.port}/bench`,
    close: async () => {
      await server.close();
      await unit.close();
      await store.close();
    },
  };
}
