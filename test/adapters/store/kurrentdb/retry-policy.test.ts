import {
  AccessDeniedError,
  DeadlineExceededError,
  StreamNotFoundError,
  UnavailableError,
  UnknownError,
  WrongExpectedVersionError,
} from '@kurrent/kurrentdb-client';
import { describe, expect, it } from 'vitest';
import {
  backoffDelay,
  DEFAULT_RETRY_POLICY,
  isTransient,
  pause,
  type RetryPolicy,
  withRetry,
} from '../../../../adapters/store/kurrentdb/retry-policy.js';
import { EventInvalidError, IoError } from '../../../../domain/errors.js';

const fast: RetryPolicy = { maxAttempts: 4, initialDelayMs: 1, maxDelayMs: 2 };
const target = { display: 'kurrentdb://db.example:2113?tls=false', tls: false };

describe('retry policy', () => {
  it('backs off exponentially up to the cap', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelay(DEFAULT_RETRY_POLICY, n))).toEqual([
      50, 100, 200, 400, 800, 1600, 2000,
    ]);
  });

  it('retries connection trouble in all three shapes the client reports it, nothing else', () => {
    const transient = [
      new UnavailableError(undefined, 'UNAVAILABLE'),
      new DeadlineExceededError(),
      { type: 'not-leader' },
      Object.assign(new UnknownError(), { code: 14 }),
      Object.assign(new Error('14 UNAVAILABLE: No connection established'), { code: 14 }),
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:2113'), { code: 'ECONNREFUSED' }),
    ];
    const final = [
      new WrongExpectedVersionError(undefined, { streamName: 's', expected: 1n, current: 2n }),
      new AccessDeniedError(),
      new StreamNotFoundError(undefined, 's'),
      new UnknownError(),
      Object.assign(new Error('invalid argument'), { code: 3 }),
      new EventInvalidError('lbn', 'too small'),
      new Error('plain'),
      undefined,
      'text',
    ];
    for (const error of transient) expect(isTransient(error), String(error)).toBe(true);
    for (const error of final) expect(isTransient(error), String(error)).toBe(false);
  });

  it('repeats a transiently failing call until it succeeds', async () => {
    let calls = 0;
    const retried: number[] = [];
    const result = await withRetry(
      async () => {
        if (++calls < 3) throw new UnavailableError(undefined, 'down');
        return 'ok';
      },
      fast,
      target,
      'reading',
      (_, attempt) => retried.push(attempt),
    );
    expect(result).toBe('ok');
    expect(calls).toBe(3);
    expect(retried).toEqual([1, 2]);
  });

  it('rethrows a final error at once', async () => {
    let calls = 0;
    const conflict = new WrongExpectedVersionError(undefined, { streamName: 's', expected: 1n, current: 2n });
    await expect(
      withRetry(
        async () => {
          calls++;
          throw conflict;
        },
        fast,
        target,
        'appending',
      ),
    ).rejects.toBe(conflict);
    expect(calls).toBe(1);
  });

  it('gives up after maxAttempts with an IoError naming the server and how to start one', async () => {
    let calls = 0;
    const cause = new UnavailableError(undefined, 'UNAVAILABLE: No connection established\nresolution note');
    const error = await withRetry(
      async () => {
        calls++;
        throw cause;
      },
      fast,
      target,
      'appending 3 events to shadowlog-DSA1',
    ).catch((e: unknown) => e);
    expect(calls).toBe(4);
    expect(error).toBeInstanceOf(IoError);
    expect((error as IoError).cause).toBe(cause);
    expect((error as IoError).message).toBe(
      'KurrentDB at kurrentdb://db.example:2113?tls=false is unreachable: appending 3 events to shadowlog-DSA1 ' +
        'failed 4 times (last error: UNAVAILABLE: No connection established). Is the server running? To start the ' +
        'single node of this repository run `docker compose up -d` and wait until http://localhost:2113/health/live answers.',
    );
  });

  it('hints at tls=false when the connection uses TLS', async () => {
    const error = await withRetry(
      () => Promise.reject(new UnavailableError()),
      { ...fast, maxAttempts: 1 },
      { display: 'kurrentdb://localhost:2113', tls: true },
      'reading',
    ).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/failed 1 time \(/);
    expect((error as Error).message).toMatch(/for the insecure node of docker-compose.yml add \?tls=false/);
  });

  it('pauses, and stops pausing when aborted', async () => {
    const started = Date.now();
    const controller = new AbortController();
    const waiting = pause(10_000, controller.signal);
    controller.abort();
    await waiting;
    await pause(1, controller.signal);
    await pause(5);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
