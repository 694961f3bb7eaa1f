import {
  CommandRejectedError,
  InvalidArgumentError,
  IoError,
  LogCorruptError,
  LogLockedError,
  NotFoundError,
  OutOfRangeError,
  ShadowlogError,
  type ShadowlogErrorCode,
} from '../../domain/errors.js';
import { STATUS_BY_ERROR_CODE } from './error-status.js';

/** Typed errors whose constructor takes just the message, by code. */
const ERROR_CLASSES: Partial<Record<ShadowlogErrorCode, new (message: string) => ShadowlogError>> = {
  INVALID_ARGUMENT: InvalidArgumentError,
  OUT_OF_RANGE: OutOfRangeError,
  COMMAND_REJECTED: CommandRejectedError,
  LOG_CORRUPT: LogCorruptError,
  LOG_LOCKED: LogLockedError,
  IO_ERROR: IoError,
  NOT_FOUND: NotFoundError,
};

/**
 * The typed error a server's `{error: {code, message}}` stands for, with the server's message
 * unchanged. Codes that are not shadowlog's (`UNAUTHORIZED`, `INTERNAL`, anything unknown) mean
 * the server could not be used: an I/O error from this side. Codes whose class takes more than a
 * message (EVENT_INVALID, WRONG_EXPECTED_POSITION, INVARIANT_VIOLATED) come back as a
 * ShadowlogError with that code, so exit codes stay the same.
 */
export function errorFromCode(code: string, message: string): ShadowlogError {
  // The status table lists every code, so it doubles as the set of known ones.
  if (!Object.hasOwn(STATUS_BY_ERROR_CODE, code)) return new IoError(message);
  const known = code as ShadowlogErrorCode;
  const ErrorClass = ERROR_CLASSES[known];
  return ErrorClass ? new ErrorClass(message) : new ShadowlogError(known, message);
}
