import { createHash } from 'node:crypto';
import { InvalidArgumentError } from '../../domain/errors.js';
import type { Fingerprint } from '../../domain/events.js';
import { BLOCK_SIZE, chunkBlockCount, chunkStartLbn, type Geometry } from '../../domain/geometry.js';
import type { BlockDevice } from '../../domain/ports/block-device.js';
import { statMember } from './member-stat.js';

/** Chunks sampled by default: enough to catch a member rewritten or restored while away, cheap to read. */
export const DEFAULT_SAMPLE_CHUNKS = 32;
/** Largest number of samples a fingerprint may hold (the event schema's limit). */
export const MAX_SAMPLE_CHUNKS = 4096;
/** Bytes hashed per sampled chunk by default: 1 MiB, so huge chunks do not make a dismount slow. */
export const DEFAULT_MAX_SAMPLE_BYTES = 1024 * 1024;
/** Hex characters kept of each sha-256: 128 bits, far beyond accidental collisions. */
const HASH_HEX_CHARS = 32;
/** Read size while hashing a sample. */
const READ_BYTES = 256 * 1024;
/** Samples read at once (each holds one READ_BYTES buffer at most). */
const SAMPLE_READS_IN_FLIGHT = 8;

/** Options of {@link fingerprintMember}. */
export interface FingerprintOptions {
  /** Chunks to sample, 0-4096; default {@link DEFAULT_SAMPLE_CHUNKS}. */
  readonly sampleChunks?: number;
  /**
   * Bytes hashed from the start of each sampled chunk, a multiple of 512; default
   * {@link DEFAULT_MAX_SAMPLE_BYTES}. Default-size chunks (127 blocks) are hashed whole.
   */
  readonly maxSampleBytes?: number;
}

/**
 * The chunks a fingerprint samples: first, last and evenly spaced between, at most `count`,
 * ascending and distinct. A function of the geometry only, so the chunks sampled at dismount
 * are the chunks sampled on return.
 */
export function sampledChunks(geometry: Geometry, count: number = DEFAULT_SAMPLE_CHUNKS): number[] {
  if (!Number.isSafeInteger(count) || count < 0 || count > MAX_SAMPLE_CHUNKS) {
    throw new InvalidArgumentError(
      `sample of ${count} chunks is invalid: give a whole number from 0 to ${MAX_SAMPLE_CHUNKS}`,
    );
  }
  const n = Math.min(count, geometry.chunks);
  if (n === 0) return [];
  if (n === 1) return [0];
  const chunks = new Set<number>();
  // Step >= 1 because n <= chunks, so rounding cannot collide; the Set only guards the float math.
  for (let i = 0; i < n; i++) chunks.add(Math.round((i * (geometry.chunks - 1)) / (n - 1)));
  return [...chunks].sort((a, b) => a - b);
}

/**
 * Fingerprint the member at `path`, open as `device`: size, inode and mtime from the file
 * system (null for block devices), and a sha-256 of each sampled chunk's content read through
 * `device`. Comparing two fingerprints is the domain's job; this only takes them.
 *
 * A member smaller than the geometry is still fingerprinted (the parts past its end hash as
 * missing), so a shrunken member shows up as a different fingerprint rather than as an error.
 */
export async function fingerprintMember(
  device: BlockDevice,
  path: string,
  geometry: Geometry,
  options: FingerprintOptions = {},
): Promise<Fingerprint> {
  const { sampleChunks = DEFAULT_SAMPLE_CHUNKS, maxSampleBytes = DEFAULT_MAX_SAMPLE_BYTES } = options;
  if (
    !Number.isSafeInteger(maxSampleBytes) ||
    maxSampleBytes < BLOCK_SIZE ||
    maxSampleBytes % BLOCK_SIZE !== 0
  ) {
    throw new InvalidArgumentError(
      `maxSampleBytes ${maxSampleBytes} is invalid: give a positive multiple of ${BLOCK_SIZE} bytes`,
    );
  }
  const chunks = sampledChunks(geometry, sampleChunks);
  const member = await statMember(path);
  const deviceBytes = device.size() - (device.size() % BLOCK_SIZE);
  const pieceBytes = Math.min(READ_BYTES, maxSampleBytes);
  const hashes = new Array<string>(chunks.length);
  // Up to SAMPLE_READS_IN_FLIGHT samples at once, each with its own buffer: the reads are
  // independent, and one at a time cost a minicopy 32 thread-pool round trips in series.
  let next = 0;
  const worker = async () => {
    const buffer = new Uint8Array(pieceBytes);
    // Bounded: each step takes one of the sampled chunks.
    for (let i = next++; i < chunks.length; i = next++) {
      const chunk = chunks[i]!;
      const start = chunkStartLbn(geometry, chunk) * geometry.blockSize;
      const wanted = Math.min(chunkBlockCount(geometry, chunk) * geometry.blockSize, maxSampleBytes);
      const end = Math.min(start + wanted, deviceBytes);
      const hash = createHash('sha256');
      for (let offset = start; offset < end; offset += buffer.length) {
        const piece = buffer.subarray(0, Math.min(buffer.length, end - offset));
        await device.read(piece, offset);
        hash.update(piece);
      }
      hashes[i] = hash.digest('hex').slice(0, HASH_HEX_CHARS);
    }
  };
  await Promise.all(Array.from({ length: Math.min(SAMPLE_READS_IN_FLIGHT, chunks.length) }, worker));
  const samples: Fingerprint['samples'] = chunks.map((chunk, i) => ({ chunk, hash: hashes[i]! }));
  return { sizeBytes: member.sizeBytes, inode: member.inode, mtimeMs: member.mtimeMs, samples };
}
