/**
 * Wire constants of the NBD protocol (NetworkBlockDevice/nbd, doc/proto.md) and the limits this
 * server chooses. Values are named as in the spec so that a reader can search the spec for them.
 */

/** 'NBDMAGIC': the first 8 bytes the server sends. */
export const NBD_INIT_MAGIC = 0x4e42444d41474943n;
/** 'IHAVEOPT': sent by the server after NBDMAGIC and by the client before every option. */
export const NBD_OPTS_MAGIC = 0x49484156454f5054n;
/** Magic of every option reply in fixed newstyle negotiation. */
export const NBD_OPTION_REPLY_MAGIC = 0x3e889045565a9n;
/** Magic of a transmission request. */
export const NBD_REQUEST_MAGIC = 0x25609513;
/** Magic of a simple reply. */
export const NBD_SIMPLE_REPLY_MAGIC = 0x67446698;
/** Magic of a structured reply chunk. */
export const NBD_STRUCTURED_REPLY_MAGIC = 0x668e33ef;

/** Handshake flags the server sends (16 bits). */
export const NbdHandshakeFlag = {
  FIXED_NEWSTYLE: 1 << 0,
  NO_ZEROES: 1 << 1,
} as const;

/** Client flags (32 bits); any other bit set means the server must close the connection. */
export const NbdClientFlag = {
  C_FIXED_NEWSTYLE: 1 << 0,
  C_NO_ZEROES: 1 << 1,
} as const;

/** Transmission flags (16 bits), sent with the export size. */
export const NbdTransmissionFlag = {
  HAS_FLAGS: 1 << 0,
  READ_ONLY: 1 << 1,
  SEND_FLUSH: 1 << 2,
  SEND_FUA: 1 << 3,
  ROTATIONAL: 1 << 4,
  SEND_TRIM: 1 << 5,
  SEND_WRITE_ZEROES: 1 << 6,
  SEND_DF: 1 << 7,
  CAN_MULTI_CONN: 1 << 8,
  SEND_RESIZE: 1 << 9,
  SEND_CACHE: 1 << 10,
  SEND_FAST_ZERO: 1 << 11,
} as const;

/** Option types of the handshake phase. */
export const NbdOption = {
  EXPORT_NAME: 1,
  ABORT: 2,
  LIST: 3,
  PEEK_EXPORT: 4,
  STARTTLS: 5,
  INFO: 6,
  GO: 7,
  STRUCTURED_REPLY: 8,
  LIST_META_CONTEXT: 9,
  SET_META_CONTEXT: 10,
  EXTENDED_HEADERS: 11,
} as const;

/** Error option replies have bit 31 set. */
const REP_ERR = 0x80000000;

/** Option reply types. */
export const NbdOptionReply = {
  ACK: 1,
  SERVER: 2,
  INFO: 3,
  META_CONTEXT: 4,
  ERR_UNSUP: REP_ERR + 1,
  ERR_POLICY: REP_ERR + 2,
  ERR_INVALID: REP_ERR + 3,
  ERR_PLATFORM: REP_ERR + 4,
  ERR_TLS_REQD: REP_ERR + 5,
  ERR_UNKNOWN: REP_ERR + 6,
  ERR_SHUTDOWN: REP_ERR + 7,
  ERR_BLOCK_SIZE_REQD: REP_ERR + 8,
  ERR_TOO_BIG: REP_ERR + 9,
} as const;

/** Information types inside NBD_REP_INFO (replies to NBD_OPT_INFO / NBD_OPT_GO). */
export const NbdInfo = {
  EXPORT: 0,
  NAME: 1,
  DESCRIPTION: 2,
  BLOCK_SIZE: 3,
} as const;

/** Transmission command types. */
export const NbdCommand = {
  READ: 0,
  WRITE: 1,
  DISC: 2,
  FLUSH: 3,
  TRIM: 4,
  CACHE: 5,
  WRITE_ZEROES: 6,
  BLOCK_STATUS: 7,
} as const;

/** Command flags (16 bits). */
export const NbdCommandFlag = {
  FUA: 1 << 0,
  NO_HOLE: 1 << 1,
  DF: 1 << 2,
  REQ_ONE: 1 << 3,
  FAST_ZERO: 1 << 4,
} as const;

/** Structured reply chunk flags. */
export const NBD_REPLY_FLAG_DONE = 1;

/** Structured reply chunk types. */
export const NbdReplyType = {
  NONE: 0,
  OFFSET_DATA: 1,
  OFFSET_HOLE: 2,
  BLOCK_STATUS: 5,
  ERROR: (1 << 15) + 1,
  ERROR_OFFSET: (1 << 15) + 2,
} as const;

/** Error values of the transmission phase (the spec restricts them to this set). */
export const NbdErrno = {
  EPERM: 1,
  EIO: 5,
  ENOMEM: 12,
  EINVAL: 22,
  ENOSPC: 28,
  EOVERFLOW: 75,
  ENOTSUP: 95,
  ESHUTDOWN: 108,
} as const;

/** One of the error values in {@link NbdErrno}. */
export type NbdErrnoValue = (typeof NbdErrno)[keyof typeof NbdErrno];

/** `base:allocation` flag: the extent is not allocated. */
export const NBD_STATE_HOLE = 1;
/** `base:allocation` flag: the extent reads as zeroes. */
export const NBD_STATE_ZERO = 2;
/** `qemu:dirty-bitmap:*` flag: the extent is dirty. */
export const NBD_STATE_DIRTY = 1;

/** The one metadata context the spec defines; always served. */
export const BASE_ALLOCATION_CONTEXT = 'base:allocation';
/** Namespace prefix of the dirty bitmaps shadowlog exports (one per dismounted member). */
export const QEMU_DIRTY_BITMAP_PREFIX = 'qemu:dirty-bitmap:';

/** Advertised minimum block size: the shadow set's 512-byte block. */
export const MIN_BLOCK_SIZE_BYTES = 512;
/** Advertised preferred block size: below it a write would cost read-modify-write somewhere. */
export const PREFERRED_BLOCK_SIZE_BYTES = 4096;
/** Advertised maximum payload: 32 MiB, the size every client is told to treat as safe. */
export const MAX_PAYLOAD_BYTES = 32 * 1024 * 1024;

/** Request header: magic 4, flags 2, type 2, cookie 8, offset 8, length 4. */
export const REQUEST_HEADER_BYTES = 28;
/** Option header: magic 8, option 4, length 4. */
export const OPTION_HEADER_BYTES = 16;
/** Simple reply: magic 4, error 4, cookie 8. */
export const SIMPLE_REPLY_HEADER_BYTES = 16;
/** Structured chunk header: magic 4, flags 2, type 2, cookie 8, length 4. */
export const STRUCTURED_REPLY_HEADER_BYTES = 20;
/** Strings (names, messages) must not exceed this per the spec. */
export const MAX_STRING_BYTES = 4096;
/** Zero padding after the NBD_OPT_EXPORT_NAME reply unless NO_ZEROES was negotiated. */
export const EXPORT_NAME_PADDING_BYTES = 124;

// ---- Limits this server chooses (every queue and loop has one) ----

/** Option data we parse; longer options are skipped and answered NBD_REP_ERR_TOO_BIG. */
export const MAX_OPTION_DATA_BYTES = 64 * 1024;
/** Option data we are willing to skip; beyond it the client is treated as hostile (hard disconnect). */
export const MAX_SKIPPABLE_OPTION_BYTES = 1024 * 1024;
/** Options accepted in one handshake before the client is deemed to be looping forever. */
export const MAX_OPTIONS_PER_HANDSHAKE = 4096;
/** Exports listed in one NBD_OPT_LIST reply. */
export const MAX_LISTED_EXPORTS = 10_000;
/** Queries parsed in one NBD_OPT_{LIST,SET}_META_CONTEXT. */
export const MAX_META_CONTEXT_QUERIES = 1024;
/** Contexts one NBD_OPT_SET_META_CONTEXT may select (NBD_REP_ERR_TOO_BIG beyond). */
export const MAX_SELECTED_META_CONTEXTS = 256;
/** Extents per NBD_REPLY_TYPE_BLOCK_STATUS chunk (spec: SHOULD NOT exceed 2^20; we stay far below). */
export const MAX_BLOCK_STATUS_EXTENTS = 16 * 1024;
/**
 * Write payloads above the advertised maximum but up to this size are read and discarded so the
 * connection can go on with an EINVAL; larger ones are a denial of service and close the connection.
 */
export const MAX_SKIPPABLE_WRITE_BYTES = 2 * MAX_PAYLOAD_BYTES;
/** Default bound on payload and reply bytes held per connection (two maximum payloads). */
export const DEFAULT_MAX_IN_FLIGHT_BYTES_PER_CONNECTION = 64 * 1024 * 1024;
/** Bound on requests in flight per connection, whatever their size (flushes cost no bytes). */
export const MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION = 1024;
/** Fixed cost charged per request so that zero-length requests still count against the byte budget. */
export const REQUEST_OVERHEAD_BYTES = 64;
/**
 * Bytes the socket reader buffers ahead of the parser before it pauses the socket: a few 1 MiB
 * writes, so pipelined large writes stream (256 KiB measured 553 vs 800 1 MiB writes/s here).
 */
export const READER_HIGH_WATER_BYTES = 4 * 1024 * 1024;
/** Reply bytes queued on a socket during the handshake before the server waits for the client to read. */
export const HANDSHAKE_WRITE_HIGH_WATER_BYTES = 1024 * 1024;
/** A client must finish option haggling within this time. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;
/** Default bound on simultaneous connections per server. */
export const DEFAULT_MAX_CONNECTIONS = 256;
/**
 * Default bound on payload and reply bytes held by all connections of a server together: four
 * connections' worth at the per-connection bound, a fraction of a small server's memory.
 */
export const DEFAULT_MAX_IN_FLIGHT_BYTES = 256 * 1024 * 1024;
/** Default longest wait of a request for the shared budget before it is answered ENOMEM. */
export const DEFAULT_BUDGET_WAIT_MS = 30_000;
/** Default idle time after which a connection with nothing in flight is closed (after the handshake). */
export const DEFAULT_IDLE_TIMEOUT_MS = 10 * 60 * 1000;
/** Default time a graceful close waits for in-flight requests before it destroys sockets. */
export const DEFAULT_GRACEFUL_CLOSE_TIMEOUT_MS = 30_000;
/** Error messages sent to clients are cut to this many bytes. */
export const MAX_ERROR_MESSAGE_BYTES = 1024;
