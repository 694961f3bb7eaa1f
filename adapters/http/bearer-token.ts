import { timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { HTTP_STATUS } from './error-status.js';

/** Where a guarded route may find its token. */
export interface TokenPolicy {
  /** Tokens that open the routes (the control token; the read token too for reading). */
  readonly tokens: readonly string[];
  /**
   * Accept `?token=` as well as the header: only for GET routes that hold no power to change
   * the set, because EventSource cannot set a header and a query string may end up in logs.
   */
  readonly allowQuery: boolean;
}

/** True when `presented` equals one of `tokens`, compared in constant time for equal lengths. */
export function tokenMatches(presented: string, tokens: readonly string[]): boolean {
  const given = Buffer.from(presented);
  let matched = false;
  // Every token is compared, whatever matched before: the time taken does not tell which.
  for (const token of tokens) {
    const expected = Buffer.from(token);
    if (given.length === expected.length && timingSafeEqual(given, expected)) matched = true;
  }
  return matched;
}

/** Middleware: 401 `UNAUTHORIZED` unless the request carries a token of `policy`. */
export function requireToken(policy: TokenPolicy): MiddlewareHandler {
  return async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    const fromHeader = header.startsWith('Bearer ') ? header.slice('Bearer '.length) : null;
    const fromQuery = policy.allowQuery && c.req.method === 'GET' ? (c.req.query('token') ?? null) : null;
    const presented = fromHeader ?? fromQuery;
    if (presented === null || !tokenMatches(presented, policy.tokens)) {
      return c.json(
        {
          error: {
            code: 'UNAUTHORIZED',
            message: 'missing or wrong token: send Authorization: Bearer <token>',
          },
        },
        HTTP_STATUS.unauthorized,
      );
    }
    await next();
  };
}
