/**
 * Typed errors. Every error has a stable `code` that scripts and the CLI's exit codes rely on;
 * messages name the thing that is wrong and, where there is one, the fix.
 */
export type ShadowlogErrorCode =
  | 'INVALID_ARGUMENT'
  | 'OUT_OF_RANGE'
  | 'EVENT_INVALID'
  | 'COMMAND_REJECTED'
  | 'WRONG_EXPECTED_POSITION'
  | 'INVARIANT_VIOLATED'
  | 'LOG_CORRUPT'
  | 'LOG_LOCKED'
  | 'IO_ERROR'
  | 'NOT_FOUND';

/** Base class of every error shadowlog raises on purpose. */
export class ShadowlogError extends Error {
  /** Stable machine-readable code; never changes for a given failure. */
  readonly code: ShadowlogErrorCode;

  constructor(code: ShadowlogErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A caller passed a value that can never be valid (bad size, bad member count, ...). */
export class InvalidArgumentError extends ShadowlogError {
  constructor(message: string) {
    super('INVALID_ARGUMENT', message);
  }
}

/** An LBN range, chunk number or position outside the volume or the log. */
export class OutOfRangeError extends ShadowlogError {
  constructor(message: string) {
    super('OUT_OF_RANGE', message);
  }
}

/** An event read from outside the process does not match its schema. */
export class EventInvalidError extends ShadowlogError {
  /** Dotted path of the offending field, e.g. `members.0.id`; empty for the whole event. */
  readonly field: string;

  constructor(field: string, message: string) {
    super('EVENT_INVALID', field ? `event field '${field}': ${message}` : `event: ${message}`);
    this.field = field;
  }
}

/** The decider refused a command in the current state; `message` says why and what to do. */
export class CommandRejectedError extends ShadowlogError {
  constructor(message: string) {
    super('COMMAND_REJECTED', message);
  }
}

/** Optimistic concurrency: the stream is not at the position the appender expected. */
export class WrongExpectedPositionError extends ShadowlogError {
  /** The position the appender expected the next event to get. */
  readonly expected: number;
  /** The position the next event would actually get. */
  readonly actual: number;

  constructor(expected: number, actual: number) {
    super(
      'WRONG_EXPECTED_POSITION',
      `append expected the stream to be at position ${expected} but it is at ${actual}; re-read and retry`,
    );
    this.expected = expected;
    this.actual = actual;
  }
}

/** An invariant of docs/design.md does not hold: a bug, never a user error. */
export class InvariantViolationError extends ShadowlogError {
  constructor(message: string) {
    super('INVARIANT_VIOLATED', `invariant violated: ${message}`);
  }
}

/** A log or snapshot failed its integrity checks. */
export class LogCorruptError extends ShadowlogError {
  constructor(message: string) {
    super('LOG_CORRUPT', message);
  }
}

/** Another live process holds the log's writer lock. */
export class LogLockedError extends ShadowlogError {
  constructor(message: string) {
    super('LOG_LOCKED', message);
  }
}

/** A member or file I/O failed. */
export class IoError extends ShadowlogError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('IO_ERROR', message, options);
  }
}

/** A named thing (set, member, snapshot) does not exist. */
export class NotFoundError extends ShadowlogError {
  constructor(message: string) {
    super('NOT_FOUND', message);
  }
}

/**
 * Assert an invariant. Used on paths where a failure means a bug in shadowlog: the process
 * must stop rather than risk losing data.
 */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new InvariantViolationError(message);
}
