/**
 * The block device port: one member of a shadow set (an image file or a Linux block device).
 * Offsets and lengths are in bytes and multiples of the block size.
 */
export interface BlockDevice {
  /** Human-readable name (the path). */
  readonly name: string;
  /** Size in bytes. */
  size(): number;
  /** Read `buffer.length` bytes at `offset` into `buffer`. Short reads are errors. */
  read(buffer: Uint8Array, offset: number): Promise<void>;
  /** Write all of `buffer` at `offset`. */
  write(buffer: Uint8Array, offset: number): Promise<void>;
  /**
   * Make `length` bytes at `offset` read as zeroes, releasing their storage where the device can
   * (a punched hole in an image file). Optional: without it callers write zeroes. Durable like a
   * write: after the next `flush()`.
   */
  zeroRange?(offset: number, length: number): Promise<void>;
  /**
   * Bytes of storage the device holds now (an image file's allocated blocks), or null when it
   * cannot tell (a block device). 0 means every byte reads as zero. Optional.
   */
  allocatedBytes?(): Promise<number | null>;
  /** Make every completed write durable (fdatasync). */
  flush(): Promise<void>;
  /** Release the device; pending operations finish first. */
  close(): Promise<void>;
}
