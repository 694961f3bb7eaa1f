import type { ErrorAnswer, StreamMessages, ViewAnswer } from '../adapters/http/read-api.js';

/** One event as the API sends it (`events --json`); read-api.ts names it through its documents. */
export type EventView = NonNullable<ViewAnswer['event']>;
/** A copy, merge or verify progress update (SSE `progress`). */
export type ProgressUpdate = StreamMessages['progress'];

/** An error the read API answered with (its `{error:{code,message}}`), or a transport failure. */
export class ApiError extends Error {
  /** The API's stable code (`NOT_FOUND`, …), or `NETWORK` / `BAD_ANSWER` for what the page saw. */
  readonly code: string;
  /** HTTP status, 0 when no answer came. */
  readonly status: number;

  constructor(code: string, message: string, status: number) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

/** The read API of adapters/http/read-api.ts, as the page calls it. */
export interface Api {
  /** `GET path` with the token; rejects with {@link ApiError}, or an AbortError when aborted. */
  get<T>(path: string, signal?: AbortSignal): Promise<T>;
  /** `/api/stream` as an EventSource (the token goes in the query: EventSource sets no headers). */
  stream(): EventSource;
}

function isErrorAnswer(body: unknown): body is ErrorAnswer {
  if (typeof body !== 'object' || body === null || !('error' in body)) return false;
  const error = (body as { error: unknown }).error;
  return typeof error === 'object' && error !== null && 'code' in error && 'message' in error;
}

/** The API of the server that served the page, authorised by `token`. */
export function createApi(token: string): Api {
  return {
    async get<T>(path: string, signal?: AbortSignal): Promise<T> {
      let response: Response;
      try {
        response = await fetch(path, { headers: { authorization: `Bearer ${token}` }, signal });
      } catch (error) {
        if ((error as Error).name === 'AbortError') throw error;
        throw new ApiError('NETWORK', `${path}: the server did not answer (${(error as Error).message})`, 0);
      }
      const text = await response.text();
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        throw new ApiError(
          'BAD_ANSWER',
          `${path}: HTTP ${response.status}, not JSON: ${text.slice(0, 120)}`,
          response.status,
        );
      }
      if (isErrorAnswer(body)) throw new ApiError(body.error.code, body.error.message, response.status);
      if (!response.ok) throw new ApiError('BAD_ANSWER', `${path}: HTTP ${response.status}`, response.status);
      return body as T;
    },
    stream(): EventSource {
      return new EventSource(`/api/stream?token=${encodeURIComponent(token)}`);
    },
  };
}

/** Whether `error` is an aborted fetch (a stale request the page dropped on purpose). */
export function isAbort(error: unknown): boolean {
  return error instanceof DOMException && error.name === 'AbortError';
}
