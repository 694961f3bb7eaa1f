import { OutOfRangeError } from '../../domain/errors.js';
import type { VirtualUnit } from '../../processes/virtual-unit.js';
import { NBD_STATE_DIRTY } from './nbd-constants.js';
import type { NbdExport, NbdExtent } from './nbd-export.js';
import { type NbdLog, safeLog } from './nbd-log.js';
import { type NbdServer, startNbdServer } from './nbd-server.js';

/** Prefix of the dirty-bitmap meta contexts, as QEMU names them. */
export const DIRTY_BITMAP_CONTEXT = 'qemu:dirty-bitmap:';
/** Most extents one BLOCK_STATUS reply builds from a bitmap (the server clips further). */
const MAX_EXTENTS = 16_384;

/**
 * A shadow set as an NBD export. Reads, writes, flush, trim and write-zeroes go through the
 * virtual unit (so every write is logged first). Every member's active write bitmap is offered
 * as `qemu:dirty-bitmap:<member>`: standard incremental-backup tools read exactly what changed
 * since the member left, straight from the projection.
 */
export function shadowSetExport(unit: VirtualUnit, name: string): NbdExport {
  const g = unit.geometry;
  const chunkBytes = g.chunkBlocks * g.blockSize;
  const sizeBytes = g.blocks * g.blockSize;
  return {
    name,
    description: `shadowlog shadow set ${name}`,
    sizeBytes,
    readOnly: false,
    read: (offset, length) => unit.read(offset / 512, length / 512),
    write: (offset, data, options) => unit.write(offset / 512, data, { fua: options.fua }),
    flush: () => unit.flush(),
    trim: (offset, length, options) => unit.trim(offset / 512, length / 512, { fua: options.fua }),
    writeZeroes: (offset, length, options) =>
      unit.writeZeroes(offset / 512, length / 512, { fua: options.fua }),
    metaContexts: () =>
      unit.state.set.members.filter((m) => m.bitmap !== null).map((m) => `${DIRTY_BITMAP_CONTEXT}${m.id}`),
    blockStatus: async (context, offset, length) => {
      if (context === 'base:allocation') {
        // Honest: members are files or devices whose holes we do not track, so all is data.
        return [{ length: Math.min(length, sizeBytes - offset), flags: 0 }];
      }
      if (!context.startsWith(DIRTY_BITMAP_CONTEXT))
        throw new OutOfRangeError(`unknown meta context ${context}`);
      const member = context.slice(DIRTY_BITMAP_CONTEXT.length);
      const bitmap = unit.state.set.members.find((m) => m.id === member)?.bitmap;
      if (!bitmap) throw new OutOfRangeError(`member ${member} has no write bitmap now`);
      const extents: NbdExtent[] = [];
      const end = Math.min(sizeBytes, offset + length);
      let at = offset;
      // Bounded by MAX_EXTENTS and by the request length.
      while (at < end && extents.length < MAX_EXTENTS) {
        const chunk = Math.floor(at / chunkBytes);
        const dirty = bitmap.chunks.test(chunk);
        let next = chunk + 1;
        while (next * chunkBytes < end && bitmap.chunks.test(next) === dirty) next++;
        const stop = Math.min(end, next * chunkBytes);
        extents.push({ length: stop - at, flags: dirty ? NBD_STATE_DIRTY : 0 });
        at = stop;
      }
      return extents;
    },
  };
}

/** Serve one shadow set over NBD; the export is named after the set. */
export async function startSetNbdServer(
  unit: VirtualUnit,
  name: string,
  options: { host: string; port: number; allowNonLoopback?: boolean; log?: (line: string) => void },
): Promise<NbdServer & { addressText: string }> {
  const exported = shadowSetExport(unit, name);
  const log: NbdLog = safeLog((level, message) => {
    if (level !== 'debug') options.log?.(`nbd ${level}: ${message}`);
  });
  const server = await startNbdServer({
    host: options.host,
    port: options.port,
    exports: (requested) => (requested === name || requested === '' ? exported : undefined),
    listExports: () => [exported],
    allowNonLoopback: options.allowNonLoopback,
    log,
  });
  const host = server.address.host.includes(':') ? `[${server.address.host}]` : server.address.host;
  return Object.assign(server, { addressText: `${host}:${server.address.port}` });
}
