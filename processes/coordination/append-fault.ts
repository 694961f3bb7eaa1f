import { IoError } from '../../domain/errors.js';
import { errorMessage } from '../../primitives/error-message.js';

/** A change in whether the log takes appends, reported once per change (not per request). */
export type LogHealthChange =
  | {
      /** The log rejected an append: writes, flushes and control commands fail until it heals. */
      readonly kind: 'failing';
      /** The store's error (names the log's path and the cause). */
      readonly error: Error;
      /** One line for the operator: the cause and the fix. */
      readonly message: string;
    }
  | {
      /** An append succeeded again after a fault. */
      readonly kind: 'healed';
      /** How long the log rejected appends. */
      readonly failedForMs: number;
      /** Appends rejected meanwhile. */
      readonly rejectedAppends: number;
      /** One line for the operator. */
      readonly message: string;
    };

/** Where log health changes go (`VirtualUnit.logHealth$`). */
export interface LogHealthSink {
  /** Report one change. */
  next(change: LogHealthChange): void;
}

/** The fix to print for a store error, when the cause is one the operator can remove. */
function fixFor(error: Error): string {
  const text = `${(error as { code?: unknown }).code ?? ''} ${error.message}`;
  if (/ENOSPC|EDQUOT|no space left|quota/i.test(text)) {
    return 'free space on the file system that holds the log (or raise the quota)';
  }
  return 'remove the cause the error names';
}

/**
 * A heal is reported once appends have succeeded this long with none rejected: a log disk at
 * the edge of full takes small batches and rejects large ones, and must not flap in the log.
 */
export const HEAL_CONFIRM_MS = 2_000;

function asError(error: unknown): Error {
  return error instanceof Error ? error : new IoError(`event log append failed: ${errorMessage(error)}`);
}

/**
 * The single writer's fault state after the store rejected an append. The single writer
 * predicts positions, so once one append is rejected every position issued after it is wrong:
 * `blocking` is set from the first rejection until the positions are re-aligned with the log
 * (every append in flight settled, then `store.lastPosition()`), and while it is set writes and
 * decisions fail at once with the store's error instead of waiting for positions that will
 * never be folded. `degraded` lasts until appends have succeeded for HEAL_CONFIRM_MS with none
 * rejected: the fault is reported once when it starts and once when it heals.
 */
export class AppendFault {
  /** The error writes and decisions fail with until the positions are re-aligned (null: none). */
  blocking: Error | null = null;
  private degraded: { readonly error: Error; readonly sinceMs: number } | null = null;
  private rejectedAppends = 0;
  /** Confirms a heal HEAL_CONFIRM_MS after the first success, unless an append is rejected first. */
  private healing: NodeJS.Timeout | null = null;
  /** Waits that end when an append is rejected (decisions waiting for predicted positions). */
  private readonly waiters = new Set<(error: Error) => void>();

  constructor(private readonly sink: LogHealthSink) {}

  /** An append was rejected with `error`: block, wake the waits, report the fault if it is new. */
  rejected(error: unknown): Error {
    const failure = asError(error);
    this.rejectedAppends++;
    this.blocking ??= failure;
    if (this.healing !== null) {
      clearTimeout(this.healing);
      this.healing = null;
    }
    for (const wake of [...this.waiters]) wake(failure);
    if (this.degraded === null) {
      this.degraded = { error: failure, sinceMs: performance.now() };
      this.sink.next({
        kind: 'failing',
        error: failure,
        message:
          `event log rejects appends: ${failure.message}. Writes, flushes and control commands ` +
          `fail until it accepts them again (${fixFor(failure)}); acknowledged writes are kept, ` +
          'and the next write or command retries: no restart is needed',
      });
    }
    return failure;
  }

  /**
   * An append succeeded. After a fault, one issued after the re-alignment starts the heal's
   * confirmation. Hot path: a field test while the log is healthy.
   */
  succeeded(): void {
    if (this.degraded === null || this.blocking !== null || this.healing !== null) return;
    this.healing = setTimeout(() => this.healed(), HEAL_CONFIRM_MS);
    this.healing.unref();
  }

  /** Stop the heal's confirmation timer (the engine closes). */
  stop(): void {
    if (this.healing !== null) clearTimeout(this.healing);
    this.healing = null;
  }

  private healed(): void {
    this.healing = null;
    if (this.degraded === null) return;
    const failedForMs = performance.now() - this.degraded.sinceMs;
    const rejectedAppends = this.rejectedAppends;
    this.degraded = null;
    this.rejectedAppends = 0;
    this.sink.next({
      kind: 'healed',
      failedForMs,
      rejectedAppends,
      message: `event log accepts appends again after ${(failedForMs / 1000).toFixed(1)} s (${rejectedAppends} appends rejected meanwhile)`,
    });
  }

  /** Positions re-aligned with the log: the next write or decision tries the store again. */
  realigned(): void {
    this.blocking = null;
  }

  /** `work`, or the store's error as soon as an append is rejected (at once when blocking now). */
  untilRejected<T>(work: Promise<T>): Promise<T> {
    if (this.blocking !== null) return Promise.reject(this.blocking);
    return new Promise<T>((resolve, reject) => {
      const wake = (error: Error) => reject(error);
      this.waiters.add(wake);
      work.then(resolve, reject).finally(() => this.waiters.delete(wake));
    });
  }
}
