import type { ShadowlogErrorCode } from '../../domain/errors.js';

/** HTTP statuses of the control API. */
export const HTTP_STATUS = {
  /** The request was carried out. */
  ok: 200,
  /** The body failed validation. */
  badRequest: 400,
  /** No token or the wrong token. */
  unauthorized: 401,
  /** A named set, member, route or position does not exist. */
  notFound: 404,
  /** The set refused the request in its current state (or the request cannot hold in any state). */
  conflict: 409,
  /** A bug: an invariant did not hold, or an error that is not a ShadowlogError. */
  internal: 500,
  /** The server cannot answer now (the dashboard page is not built, too many streams open). */
  unavailable: 503,
} as const;

/**
 * The status for each stable error code. The client reads the code from the body, not the
 * status, so the status only has to be honest for generic HTTP tools: "not found" is 404, a bug
 * is 500, and everything the set refused (including arguments it cannot take) is 409.
 */
export const STATUS_BY_ERROR_CODE: Readonly<Record<ShadowlogErrorCode, number>> = {
  INVALID_ARGUMENT: HTTP_STATUS.conflict,
  OUT_OF_RANGE: HTTP_STATUS.conflict,
  EVENT_INVALID: HTTP_STATUS.conflict,
  COMMAND_REJECTED: HTTP_STATUS.conflict,
  WRONG_EXPECTED_POSITION: HTTP_STATUS.conflict,
  INVARIANT_VIOLATED: HTTP_STATUS.internal,
  LOG_CORRUPT: HTTP_STATUS.conflict,
  LOG_LOCKED: HTTP_STATUS.conflict,
  IO_ERROR: HTTP_STATUS.conflict,
  NOT_FOUND: HTTP_STATUS.notFound,
};
