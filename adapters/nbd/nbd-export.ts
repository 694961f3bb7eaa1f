/**
 * The backend an NBD export serves: in shadowlog, a shadow set's virtual unit. The NBD layer owns
 * everything protocol-shaped (alignment, ranges, errors on the wire); the backend only ever sees
 * in-range requests whose offsets and lengths are multiples of 512 bytes.
 */

/** One run of blocks with the same metadata flags. */
export interface NbdExtent {
  /** Bytes in the run; positive. */
  readonly length: number;
  /** Context-defined flags (base:allocation: 1 = hole, 2 = zero; qemu:dirty-bitmap:*: 1 = dirty). */
  readonly flags: number;
}

/** Options of a write-like request. */
export interface NbdWriteOptions {
  /** Force unit access: the data must be durable before the promise resolves. */
  readonly fua: boolean;
}

/** Options of a write-zeroes request. */
export interface NbdWriteZeroesOptions extends NbdWriteOptions {
  /** The client wants the range fully provisioned (no hole punched). */
  readonly noHole: boolean;
}

/**
 * A volume exported over NBD. Errors are reported by rejecting with a `ShadowlogError`
 * (domain/errors.ts): `OUT_OF_RANGE` and `INVALID_ARGUMENT` become EINVAL (ENOSPC for writes),
 * `IO_ERROR` and anything else EIO.
 *
 * Flush and FUA must be visible to every connection when they resolve: the server advertises
 * NBD_FLAG_CAN_MULTI_CONN.
 */
export interface NbdExport {
  /** Export name (the shadow set's name). */
  readonly name: string;
  /** Human-readable description shown by `nbdinfo --list`. */
  readonly description: string;
  /** Size in bytes, a multiple of 512 (a partial last block is not exported). */
  readonly sizeBytes: number;
  /** True when writes must be refused (EPERM). */
  readonly readOnly: boolean;
  /** Read `length` bytes at `offset`; both multiples of 512; the result has exactly `length` bytes. */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Write `data` at `offset`; both multiples of 512. */
  write(offset: number, data: Uint8Array, options: NbdWriteOptions): Promise<void>;
  /** Make every completed write durable. */
  flush(): Promise<void>;
  /** Discard a range (a hint: the contents become unspecified); multiples of 512. */
  trim(offset: number, length: number, options: NbdWriteOptions): Promise<void>;
  /** Make a range read as zeroes; multiples of 512. */
  writeZeroes(offset: number, length: number, options: NbdWriteZeroesOptions): Promise<void>;
  /**
   * Metadata contexts available now besides `base:allocation` (which the server always offers),
   * e.g. `['qemu:dirty-bitmap:m2']`. Read at negotiation time, so it may change between connections.
   */
  metaContexts(): readonly string[];
  /**
   * Optional: true for a context the export answers on request though {@link metaContexts}
   * does not list it (there are too many to list: `qemu:dirty-bitmap:since-<position>`).
   * Consulted only for exact names a client asks for, never for wildcards.
   */
  acceptsContext?(name: string): boolean;
  /**
   * Extents of `context` (`base:allocation` or one of {@link metaContexts}) starting exactly at
   * `offset`; multiples of 512. The list may cover less or more than `length`; the server clips it.
   * For `base:allocation` a rejection is answered with "allocated, contents unknown" (always true).
   */
  blockStatus(context: string, offset: number, length: number): Promise<ReadonlyArray<NbdExtent>>;
}
