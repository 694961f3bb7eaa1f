import { IoError, ShadowlogError, type ShadowlogErrorCode } from '../../domain/errors.js';
import type { ServerInfo } from './server-info.js';

/** Talks to a running server's control API. */
export class ControlClient {
  constructor(
    private readonly info: ServerInfo,
    private readonly token: string,
  ) {}

  /** The server's pid (for messages). */
  get pid(): number {
    return this.info.pid;
  }

  /** GET a path. */
  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  /** POST a JSON body. */
  post<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`http://${this.info.http}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      throw new IoError(
        `the server of this set (pid ${this.info.pid}) is not reachable at ${this.info.http}: ${(error as Error).message}; stop it or remove its server.json`,
      );
    }
    const payload = (await response.json()) as { error?: { code: string; message: string } } & T;
    if (!response.ok) {
      const code = (payload.error?.code ?? 'IO_ERROR') as ShadowlogErrorCode;
      throw new ShadowlogError(
        ['UNAUTHORIZED', 'INTERNAL'].includes(code) ? 'IO_ERROR' : code,
        payload.error?.message ?? `server answered ${response.status}`,
      );
    }
    return payload;
  }
}
