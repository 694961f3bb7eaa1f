import { ChunkBitmap } from '../domain/chunk-bitmap.js';
import { LogCorruptError } from '../domain/errors.js';
import { refreshMarking, type ShadowSetState } from '../domain/shadow-set-state.js';
import type { ProjectedState } from './projected-state.js';
import type { WrittenChunks } from './written-chunks.js';

/** The written-chunks projection in a snapshot's JSON; its words are the bitmap at `index`. */
type EncodedWritten = Omit<WrittenChunks, 'words'> & { index: number };

/**
 * Binary form of a {@link ProjectedState}, for projection snapshots. Layout:
 * `"SLPS"` magic, u32 format version, u32 JSON length, the JSON (state with each bitmap
 * replaced by its index), then per bitmap a u32 length and its words. Bitmaps stay binary
 * because a 2 TiB volume's bitmap is 4 MiB and JSON would triple it. Integrity (checksum) is
 * the snapshot store's job; decoding still checks structure and throws LogCorruptError.
 */
const MAGIC = 0x53504c53; // "SLPS" little-endian
const FORMAT_VERSION = 1;

type EncodedMember = Omit<ShadowSetState['members'][number], 'bitmap'> & {
  bitmapIndex: number | null;
  bitmapMeta: { sincePosition: number; sinceTime: number } | null;
};
type EncodedState = Omit<ShadowSetState, 'members' | 'marking'> & { members: EncodedMember[] };

/** Encode a projected state. */
export function encodeProjectedState(state: ProjectedState): Uint8Array {
  const bitmaps: Uint8Array[] = [];
  const set = state.set;
  const members = set.members.map((m) => {
    const { bitmap, ...rest } = m;
    let bitmapIndex: number | null = null;
    let bitmapMeta: { sincePosition: number; sinceTime: number } | null = null;
    if (bitmap) {
      bitmapIndex = bitmaps.length;
      bitmaps.push(bitmap.chunks.serialise());
      bitmapMeta = { sincePosition: bitmap.sincePosition, sinceTime: bitmap.sinceTime };
    }
    return { ...rest, bitmapIndex, bitmapMeta };
  });
  // Additive: the written-chunks words go after the member bitmaps, named by index in the JSON,
  // so a decoder that predates them reads the rest unchanged (same FORMAT_VERSION).
  let written: EncodedWritten | undefined;
  if (state.written) {
    const { words, ...rest } = state.written;
    written = { ...rest, index: bitmaps.length };
    bitmaps.push(new Uint8Array(words.buffer, words.byteOffset, words.byteLength));
  }
  const json = new TextEncoder().encode(
    JSON.stringify({ set: { ...set, members, marking: undefined }, journal: state.journal, written }),
  );
  let total = 12 + json.length;
  for (const b of bitmaps) total += 4 + b.length;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, FORMAT_VERSION, true);
  view.setUint32(8, json.length, true);
  out.set(json, 12);
  let offset = 12 + json.length;
  for (const b of bitmaps) {
    view.setUint32(offset, b.length, true);
    out.set(b, offset + 4);
    offset += 4 + b.length;
  }
  return out;
}

/** Decode a projected state; throws LogCorruptError on any structural problem. */
export function decodeProjectedState(bytes: Uint8Array): ProjectedState {
  try {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (bytes.length < 12 || view.getUint32(0, true) !== MAGIC) throw new Error('bad magic');
    if (view.getUint32(4, true) !== FORMAT_VERSION)
      throw new Error(`unknown format version ${view.getUint32(4, true)}`);
    const jsonLength = view.getUint32(8, true);
    if (12 + jsonLength > bytes.length) throw new Error('JSON part past the end');
    const parsed = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + jsonLength))) as {
      set: EncodedState;
      journal: ProjectedState['journal'];
      written?: EncodedWritten;
    };
    const bitmaps: Uint8Array[] = [];
    let offset = 12 + jsonLength;
    while (offset < bytes.length) {
      if (offset + 4 > bytes.length) throw new Error('bitmap length past the end');
      const length = view.getUint32(offset, true);
      if (offset + 4 + length > bytes.length) throw new Error('bitmap past the end');
      bitmaps.push(bytes.subarray(offset + 4, offset + 4 + length));
      offset += 4 + length;
    }
    const geometry = parsed.set.geometry;
    if (geometry === null || !Array.isArray(parsed.set.members) || !parsed.journal)
      throw new Error('missing fields');
    const members = parsed.set.members.map((m) => {
      const { bitmapIndex, bitmapMeta, ...rest } = m;
      let bitmap = null;
      if (bitmapIndex !== null) {
        const raw = bitmaps[bitmapIndex];
        if (raw === undefined || !bitmapMeta) throw new Error(`bitmap ${bitmapIndex} missing`);
        bitmap = { ...bitmapMeta, chunks: ChunkBitmap.deserialise(raw, geometry.chunks) };
      }
      return { ...rest, bitmap };
    });
    // Snapshots written before origins (or checkpoints) were recorded have none.
    const set: ShadowSetState = {
      ...parsed.set,
      origin: parsed.set.origin ?? null,
      checkpoints: parsed.set.checkpoints ?? [],
      members,
      marking: [],
    };
    // The same rule as the fold: a leaving member past its cut marks its bitmap too.
    refreshMarking(set);
    return { set, journal: parsed.journal, written: decodeWritten(parsed.written, bitmaps) };
  } catch (error) {
    if (error instanceof LogCorruptError) throw error;
    throw new LogCorruptError(`projection snapshot is unreadable: ${(error as Error).message}`);
  }
}

/** The written-chunks projection of a snapshot; one that predates it cannot vouch for anything. */
function decodeWritten(encoded: EncodedWritten | undefined, bitmaps: Uint8Array[]): WrittenChunks {
  if (encoded === undefined) {
    return {
      vouches: false,
      reason:
        'the projection snapshot predates written-chunk tracking, so it cannot tell which chunks were never written',
      chunkBlocks: 1,
      blocks: 0,
      chunks: 0,
      words: new Uint32Array(0),
    };
  }
  const { index, ...rest } = encoded;
  const raw = bitmaps[index];
  if (raw === undefined || raw.length !== Math.ceil(rest.chunks / 32) * 4)
    throw new Error(`written-chunks bitmap ${index} missing or of the wrong length`);
  // Copy: the snapshot's bytes may not be 4-byte aligned.
  const words = new Uint32Array(raw.length / 4);
  new Uint8Array(words.buffer).set(raw);
  return { ...rest, words };
}
