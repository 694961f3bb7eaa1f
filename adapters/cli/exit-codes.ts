import type { ShadowlogErrorCode } from '../../domain/errors.js';

/**
 * Exit codes of the `shadowlog` command. Stable: scripts rely on them (documented in the
 * README).
 */
export const EXIT = {
  /** Success. */
  ok: 0,
  /** An error not covered below. */
  failure: 1,
  /** Bad command line: unknown command or option, bad value. */
  usage: 2,
  /** A named set, member, file or position does not exist. */
  notFound: 3,
  /** The set refused the operation (policy, state); the message says why. */
  refused: 4,
  /** The log or a snapshot failed an integrity check. */
  corrupt: 5,
  /** Another process holds the set's log, or a server already serves the set. */
  locked: 6,
  /** I/O error on a member or the log, an address `serve` cannot listen on, an unreachable server. */
  io: 7,
  /** A verify found differences between members. */
  differences: 9,
  /** A bug: an invariant did not hold. */
  internal: 70,
} as const;

/** The exit code for an error code. */
export function exitCodeFor(code: ShadowlogErrorCode): number {
  switch (code) {
    case 'INVALID_ARGUMENT':
    case 'OUT_OF_RANGE':
      return EXIT.usage;
    case 'NOT_FOUND':
      return EXIT.notFound;
    case 'COMMAND_REJECTED':
    case 'WRONG_EXPECTED_POSITION':
      return EXIT.refused;
    case 'LOG_CORRUPT':
    case 'EVENT_INVALID':
      return EXIT.corrupt;
    case 'LOG_LOCKED':
      return EXIT.locked;
    case 'IO_ERROR':
      return EXIT.io;
    case 'INVARIANT_VIOLATED':
      return EXIT.internal;
  }
}
