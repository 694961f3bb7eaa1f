import type { ChunkBitmap } from '../../domain/chunk-bitmap.js';
import { OutOfRangeError } from '../../domain/errors.js';
import type { VirtualUnit } from '../../processes/virtual-unit.js';
import { allocationExtents } from './block-status.js';
import { NBD_STATE_DIRTY } from './nbd-constants.js';
import type { NbdExport, NbdExtent } from './nbd-export.js';
import { type NbdLog, safeLog } from './nbd-log.js';
import { type NbdServer, startNbdServer } from './nbd-server.js';
import type { NbdTlsOptions } from './nbd-tls.js';

/** Prefix of the dirty-bitmap meta contexts, as QEMU names them. */
export const DIRTY_BITMAP_CONTEXT = 'qemu:dirty-bitmap:';
/** Leaf prefix of the position contexts: `qemu:dirty-bitmap:since-<position>`. */
export const SINCE_POSITION_PREFIX = 'since-';
/** Most extents one BLOCK_STATUS reply builds from a bitmap (the server clips further). */
const MAX_EXTENTS = 16_384;

/**
 * A shadow set as an NBD export. Reads, writes, flush, trim and write-zeroes go through the
 * virtual unit (so every write is logged first). Dirty bitmaps, at the set's chunk granularity:
 * - `qemu:dirty-bitmap:<member>`: a member's active write bitmap, straight from the projection;
 * - `qemu:dirty-bitmap:<checkpoint>`: the chunks written since a checkpoint;
 * - `qemu:dirty-bitmap:since-<position>`: the chunks written after any position, answered on
 *   request (not listed: there is one per position).
 * The last two are folded from the log itself, so a crash never makes them inconsistent.
 */
export function shadowSetExport(unit: VirtualUnit, name: string): NbdExport {
  const g = unit.geometry;
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
    metaContexts: () => {
      const set = unit.state.set;
      const members = set.members.filter((m) => m.bitmap !== null).map((m) => m.id);
      const checkpoints = set.checkpoints.map((c) => c.name);
      return [...members, ...checkpoints].map((leaf) => `${DIRTY_BITMAP_CONTEXT}${leaf}`);
    },
    acceptsContext: (context) => {
      const position = sincePosition(context);
      return position !== null && position <= unit.state.set.position;
    },
    blockStatus: async (context, offset, length) => {
      if (context === 'base:allocation') {
        // Holes are the chunks the log vouches were never written or were trimmed whole.
        return allocationExtents(
          unit.state.written,
          offset,
          Math.min(sizeBytes, offset + length),
          MAX_EXTENTS,
        );
      }
      const chunks = await dirtyChunks(unit, context);
      // A member that has returned (full again) has no write bitmap: it misses nothing, so its
      // context answers one clean extent (status 0, which the spec says is always safe).
      if (chunks === 'clean') return [{ length: Math.min(length, sizeBytes - offset), flags: 0 }];
      return bitmapExtents(chunks, g.chunkBlocks * g.blockSize, offset, Math.min(sizeBytes, offset + length));
    },
  };
}

/** The position of a `qemu:dirty-bitmap:since-<position>` context; null for any other name. */
function sincePosition(context: string): number | null {
  const prefix = `${DIRTY_BITMAP_CONTEXT}${SINCE_POSITION_PREFIX}`;
  if (!context.startsWith(prefix)) return null;
  const digits = context.slice(prefix.length);
  if (!/^(0|[1-9][0-9]{0,15})$/.test(digits)) return null;
  const position = Number(digits);
  return Number.isSafeInteger(position) ? position : null;
}

/**
 * The bitmap a dirty-bitmap context names: a member's, a checkpoint's or a position's; 'clean'
 * for a member without one (it is full). A deleted checkpoint or a removed member throws: its
 * bitmap is gone, and "clean" could be a lie to a backup that trusts it.
 */
async function dirtyChunks(unit: VirtualUnit, context: string): Promise<ChunkBitmap | 'clean'> {
  if (!context.startsWith(DIRTY_BITMAP_CONTEXT)) throw new OutOfRangeError(`unknown meta context ${context}`);
  const leaf = context.slice(DIRTY_BITMAP_CONTEXT.length);
  const set = unit.state.set;
  const member = set.members.find((m) => m.id === leaf);
  if (member) {
    if (!member.bitmap) return 'clean';
    return member.bitmap.chunks;
  }
  const checkpoint = set.checkpoints.find((c) => c.name === leaf);
  if (checkpoint) return unit.changedChunksSince(checkpoint.position);
  const position = sincePosition(context);
  if (position !== null) return unit.changedChunksSince(position);
  throw new OutOfRangeError(`no member or checkpoint named ${leaf} (it may have been deleted)`);
}

/** Extents of `bitmap` from `offset` to `end` (bytes), one run per stretch of equal chunks. */
function bitmapExtents(bitmap: ChunkBitmap, chunkBytes: number, offset: number, end: number): NbdExtent[] {
  const extents: NbdExtent[] = [];
  let at = offset;
  // Bounded by MAX_EXTENTS and by the request length.
  while (at < end && extents.length < MAX_EXTENTS) {
    const chunk = Math.floor(at / chunkBytes);
    const dirty = bitmap.test(chunk);
    let next = chunk + 1;
    while (next * chunkBytes < end && bitmap.test(next) === dirty) next++;
    const stop = Math.min(end, next * chunkBytes);
    extents.push({ length: stop - at, flags: dirty ? NBD_STATE_DIRTY : 0 });
    at = stop;
  }
  return extents;
}

/** Serve one shadow set over NBD; the export is named after the set. */
export async function startSetNbdServer(
  unit: VirtualUnit,
  name: string,
  options: {
    host: string;
    port: number;
    allowNonLoopback?: boolean;
    log?: (line: string) => void;
    maxConnections?: number;
    idleTimeoutMs?: number;
    tls?: NbdTlsOptions;
  },
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
    maxConnections: options.maxConnections,
    idleTimeoutMs: options.idleTimeoutMs,
    log,
    ...(options.tls ? { tls: options.tls } : {}),
  });
  const host = server.address.host.includes(':') ? `[${server.address.host}]` : server.address.host;
  return Object.assign(server, { addressText: `${host}:${server.address.port}` });
}
