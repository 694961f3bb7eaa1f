import { IoError } from '../../../domain/errors.js';

/**
 * Retrying server calls. A lost connection, a leader election or a deadline are transient:
 * the call is repeated with the same arguments -- for appends the same event ids and expected
 * revision, so a call that did reach the server before the connection dropped is recognised by
 * its idempotency check and not written twice. Everything else (a conflict, access denied, a
 * deleted stream, a bad event) is final and surfaces at once.
 *
 * Retries are bounded and back off exponentially; when they run out, the error says which
 * server could not be reached and how to start the one of this repository.
 */

/** How often and how patiently to retry. */
export interface RetryPolicy {
  /** Calls in all, the first included (1 = no retry). */
  readonly maxAttempts: number;
  /** Pause after the first failure; doubles after each further one. */
  readonly initialDelayMs: number;
  /** Longest pause. */
  readonly maxDelayMs: number;
}

/** Six calls over about 1.5 s: rides out a leader election or a restarting container, fails fast otherwise. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 6, initialDelayMs: 50, maxDelayMs: 2000 };

/** Pause before attempt `attempt + 1`, after `attempt` failures (1-based). */
export function backoffDelay(policy: RetryPolicy, attempt: number): number {
  return Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.max(0, attempt - 1));
}

/** gRPC status codes of a call that may succeed when repeated: CANCELLED, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, UNAVAILABLE. */
const TRANSIENT_GRPC_CODES = new Set([1, 4, 8, 14]);
/** The client's error types for the same. */
const TRANSIENT_TYPES = new Set(['unavailable', 'deadline-exceeded', 'timeout', 'not-leader', 'cancelled']);
/** Node socket errors. */
const TRANSIENT_SYSTEM_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
]);

/**
 * True if `error` may go away by repeating the call. The client reports connection trouble in
 * three shapes -- its own error classes (`type`), raw gRPC errors (numeric `code`, seen when the
 * capability probe before an append fails) and Node socket errors (string `code`) -- so all
 * three are recognised.
 */
export function isTransient(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { type, code } = error as { type?: unknown; code?: unknown };
  // 'unknown' is the client's catch-all: its gRPC code may still tell.
  if (typeof type === 'string' && type !== 'unknown') return TRANSIENT_TYPES.has(type);
  if (typeof code === 'number') return TRANSIENT_GRPC_CODES.has(code);
  if (typeof code === 'string') return TRANSIENT_SYSTEM_CODES.has(code);
  return false;
}

/** A short description of an error for messages. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const type = (error as { type?: unknown }).type;
  // Errors from the client's native bridge carry only their class name as message.
  if ((error.message === '' || error.message === error.name) && typeof type === 'string') {
    return `${type.replace(/-/g, ' ')} (${error.name})`;
  }
  const text = error.message || error.name;
  // gRPC messages repeat the resolution log over several lines: keep the first.
  return text.split('\n')[0]!.trim();
}

/** Where the store connects, for messages. */
export interface ServerTarget {
  /** The connection string, password masked. */
  readonly display: string;
  /** Whether it uses TLS: a TLS client cannot talk to the insecure docker-compose node. */
  readonly tls: boolean;
}

/** The error once retries ran out: names the server and how to start one. */
export function unreachableError(
  target: ServerTarget,
  what: string,
  attempts: number,
  cause: unknown,
): IoError {
  const tlsHint = target.tls
    ? ' The connection uses TLS; for the insecure node of docker-compose.yml add ?tls=false.'
    : '';
  return new IoError(
    `KurrentDB at ${target.display} is unreachable: ${what} failed ${attempts} time${attempts === 1 ? '' : 's'} ` +
      `(last error: ${describeError(cause)}). Is the server running? To start the single node of this ` +
      `repository run \`docker compose up -d\` and wait until http://localhost:2113/health/live answers.${tlsHint}`,
    { cause },
  );
}

/** Resolve after `ms`, or at once when `signal` aborts. */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Run `call`, repeating it while it fails transiently, at most `policy.maxAttempts` times.
 * Final errors are rethrown as they are; running out of attempts throws
 * {@link unreachableError}. `onRetry` sees each transient failure (for counters).
 */
export async function withRetry<T>(
  call: () => Promise<T>,
  policy: RetryPolicy,
  target: ServerTarget,
  what: string,
  onRetry?: (error: unknown, attempt: number) => void,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!isTransient(error)) throw error;
      if (attempt >= policy.maxAttempts) throw unreachableError(target, what, attempt, error);
      onRetry?.(error, attempt);
      await pause(backoffDelay(policy, attempt));
    }
  }
}
