import { IoError } from '../../domain/errors.js';
import type { RangeLock } from '../../primitives/range-lock.js';
import { readBytes, trimBytes, writeBytes, zeroBytes } from './block-alignment.js';
import { normalizeExtents } from './block-status.js';
import {
  BASE_ALLOCATION_CONTEXT,
  MAX_BLOCK_STATUS_EXTENTS,
  MIN_BLOCK_SIZE_BYTES,
  NbdCommand,
  NbdCommandFlag,
  NbdErrno,
  type NbdErrnoValue,
} from './nbd-constants.js';
import { describeError, nbdErrnoFor } from './nbd-error-mapping.js';
import type { NbdExport, NbdExtent } from './nbd-export.js';
import type { SelectedMetaContext } from './nbd-meta-contexts.js';
import { type NbdRequest, operationOf } from './nbd-request.js';

/** What executing a command needs. */
export interface ExecutionContext {
  /** The backend. */
  readonly export: NbdExport;
  /** The export's range lock, shared by all connections. */
  readonly lock: RangeLock;
  /** Advertised export size. */
  readonly sizeBytes: number;
  /** Contexts selected for BLOCK_STATUS, in id order. */
  readonly metaContexts: readonly SelectedMetaContext[];
}

/** Extents of one selected context. */
export interface ContextExtents {
  /** Context id from negotiation. */
  readonly contextId: number;
  /** Descriptors starting at the request offset. */
  readonly extents: readonly NbdExtent[];
}

/** Result of a command, turned into simple or structured replies by the connection. */
export type CommandOutcome =
  | { readonly kind: 'done' }
  | { readonly kind: 'data'; readonly offset: number; readonly data: Buffer }
  | { readonly kind: 'extents'; readonly contexts: readonly ContextExtents[] }
  | { readonly kind: 'error'; readonly errno: NbdErrnoValue; readonly message: string };

const DONE: CommandOutcome = { kind: 'done' };

/**
 * Run one validated request against the backend. Never rejects: every backend failure becomes an
 * error outcome mapped to an NBD error value, so one bad request cannot take the connection down.
 */
export async function executeCommand(
  context: ExecutionContext,
  request: NbdRequest,
  payload: Buffer | undefined,
): Promise<CommandOutcome> {
  const operation = operationOf(request.type) ?? 'read';
  try {
    return await run(context, request, payload);
  } catch (error) {
    return { kind: 'error', errno: nbdErrnoFor(error, operation), message: describeError(error) };
  }
}

async function run(
  context: ExecutionContext,
  request: NbdRequest,
  payload: Buffer | undefined,
): Promise<CommandOutcome> {
  const { export: exp, lock } = context;
  const fua = (request.flags & NbdCommandFlag.FUA) !== 0;
  switch (request.type) {
    case NbdCommand.READ:
      return {
        kind: 'data',
        offset: request.offset,
        data: await readBytes(exp, request.offset, request.length),
      };
    case NbdCommand.WRITE:
      await writeBytes(exp, lock, request.offset, payload ?? Buffer.alloc(0), fua);
      return DONE;
    case NbdCommand.FLUSH:
      await exp.flush();
      return DONE;
    case NbdCommand.TRIM:
      await trimBytes(exp, lock, request.offset, request.length, fua);
      return DONE;
    case NbdCommand.WRITE_ZEROES: {
      const noHole = (request.flags & NbdCommandFlag.NO_HOLE) !== 0;
      await zeroBytes(exp, lock, request.offset, request.length, { fua, noHole });
      return DONE;
    }
    case NbdCommand.BLOCK_STATUS:
      return await blockStatus(context, request);
    default:
      return { kind: 'error', errno: NbdErrno.EINVAL, message: `unknown command ${request.type}` };
  }
}

async function blockStatus(context: ExecutionContext, request: NbdRequest): Promise<CommandOutcome> {
  const { offset, length } = request;
  const alignedStart = offset - (offset % MIN_BLOCK_SIZE_BYTES);
  const end = offset + length;
  const alignedEnd = Math.min(
    context.sizeBytes,
    end + ((MIN_BLOCK_SIZE_BYTES - (end % MIN_BLOCK_SIZE_BYTES)) % MIN_BLOCK_SIZE_BYTES),
  );
  const maxExtents = (request.flags & NbdCommandFlag.REQ_ONE) !== 0 ? 1 : MAX_BLOCK_STATUS_EXTENTS;
  const contexts: ContextExtents[] = [];
  for (const selected of context.metaContexts) {
    let extents: NbdExtent[];
    try {
      const raw = await context.export.blockStatus(selected.name, alignedStart, alignedEnd - alignedStart);
      if (!Array.isArray(raw)) throw new IoError(`backend block status for ${selected.name} is not a list`);
      extents = normalizeExtents(raw, offset - alignedStart, length, maxExtents);
      if (extents.length === 0)
        throw new IoError(`backend returned no extents for ${selected.name} at ${offset}`);
    } catch (error) {
      if (selected.name !== BASE_ALLOCATION_CONTEXT) throw error;
      // base:allocation status 0 ("allocated, contents unknown") is always true, so when the
      // backend cannot say more we say that rather than fail the client's whole request. Dirty
      // bitmaps get no such fallback: "clean" could be a lie, and an error is honest.
      extents = [{ length, flags: 0 }];
    }
    contexts.push({ contextId: selected.id, extents });
  }
  return { kind: 'extents', contexts };
}
