import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { z } from 'zod';
import { InvalidArgumentError, ShadowlogError } from '../../domain/errors.js';
import { HTTP_STATUS, STATUS_BY_ERROR_CODE } from './error-status.js';

/**
 * A request the server cannot read (a body that is not JSON, too large, a query parameter of
 * the wrong form): 400 with code INVALID_ARGUMENT, whatever the set would say of the argument.
 */
export function badRequest(message: string): HTTPException {
  return new HTTPException(HTTP_STATUS.badRequest, { cause: new InvalidArgumentError(message) });
}

/** Run a parser of a request's part; its InvalidArgumentError becomes a 400 {@link badRequest}. */
export function parseRequestPart<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof InvalidArgumentError) throw badRequest(error.message);
    throw error;
  }
}

/** The `{error: {code, message}}` document and status of any error a route threw. */
export function errorResponse(error: unknown, c: Context): Response {
  if (error instanceof HTTPException) {
    const cause = error.cause instanceof ShadowlogError ? error.cause : null;
    const code = cause?.code ?? 'INVALID_ARGUMENT';
    return c.json({ error: { code, message: cause?.message ?? error.message } }, error.status);
  }
  if (error instanceof ShadowlogError) {
    return c.json(
      { error: { code: error.code, message: error.message } },
      STATUS_BY_ERROR_CODE[error.code] as 404,
    );
  }
  if (error instanceof z.ZodError) {
    return c.json(
      { error: { code: 'INVALID_ARGUMENT', message: error.issues.map((i) => i.message).join('; ') } },
      HTTP_STATUS.badRequest,
    );
  }
  return c.json({ error: { code: 'INTERNAL', message: (error as Error).message } }, HTTP_STATUS.internal);
}

/** 404 for a path no route serves. */
export function notFoundResponse(c: Context): Response {
  return c.json(
    { error: { code: 'NOT_FOUND', message: `no route ${c.req.method} ${c.req.path}` } },
    HTTP_STATUS.notFound,
  );
}

/**
 * The request's JSON body, read up to `maxBytes` (a larger body is refused as soon as it
 * passes the bound, not after it is all in memory). An empty body reads as `{}`.
 */
export async function readJsonBody(request: Request, maxBytes: number): Promise<unknown> {
  const declared = Number(request.headers.get('content-length') ?? '0');
  if (declared > maxBytes) throw badRequest(`request body too large: at most ${maxBytes} bytes`);
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (request.body) {
    const reader = request.body.getReader();
    // Bounded: each read adds bytes and the loop stops past maxBytes.
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel();
        throw badRequest(`request body too large: at most ${maxBytes} bytes`);
      }
      chunks.push(value);
    }
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text || '{}');
  } catch {
    throw badRequest('request body is not JSON: send a JSON object');
  }
}
