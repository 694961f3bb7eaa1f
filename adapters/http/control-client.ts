import { request as httpsRequest } from 'node:https';
import { IoError } from '../../domain/errors.js';
import type {
  AbortAnswer,
  ControlState,
  DismountPolicy,
  EventAnswer,
  HostLeftAnswer,
  MountAnswer,
  MountPolicy,
  VerifyAnswer,
} from './control-api.js';
import { errorFromCode } from './error-from-code.js';

/** Where a running server's control API listens (what its server.json says). */
export interface ControlEndpoint {
  /** The server's process id (for messages). */
  readonly pid: number;
  /** `host:port` of the control API. */
  readonly http: string;
  /** `https` when the server serves TLS (`serve --tls-certs`); http when absent. */
  readonly scheme?: 'http' | 'https';
  /** The CA certificate (PEM) to trust for https; the system's CAs when absent. */
  readonly ca?: Buffer;
}

/**
 * Talks to a running server's control API. A refused request rejects with the typed error the
 * server raised (same code, same message), so callers handle it as if it ran in-process.
 */
export class ControlClient {
  constructor(
    private readonly endpoint: ControlEndpoint,
    private readonly token: string,
  ) {}

  /** The server's pid (for messages). */
  get pid(): number {
    return this.endpoint.pid;
  }

  /** The set's summary, copy journal, live progress and diagnostics. */
  state(): Promise<ControlState> {
    return this.request<ControlState>('GET', '/api/state');
  }

  /** Dismount a member. */
  dismount(member: string, policy: DismountPolicy): Promise<EventAnswer> {
    return this.request<EventAnswer>('POST', '/api/dismount', { member, policy });
  }

  /** Start a member's return; the copy runs on in the server. */
  mount(member: string, policy: MountPolicy): Promise<MountAnswer> {
    return this.request<MountAnswer>('POST', '/api/mount', { member, policy });
  }

  /** Drop a dismounted member's write bitmap. */
  deleteBitmap(member: string): Promise<EventAnswer> {
    return this.request<EventAnswer>('POST', '/api/delete-bitmap', { member });
  }

  /** Name the current end of the log as a checkpoint. */
  createCheckpoint(name: string): Promise<EventAnswer> {
    return this.request<EventAnswer>('POST', '/api/checkpoint', { name });
  }

  /** Delete a checkpoint. */
  deleteCheckpoint(name: string): Promise<EventAnswer> {
    return this.request<EventAnswer>('POST', '/api/delete-checkpoint', { name });
  }

  /** Abort the copy to a member. */
  abortCopy(member: string): Promise<AbortAnswer> {
    return this.request<AbortAnswer>('POST', '/api/abort-copy', { member });
  }

  /** Record that another host left the set. */
  hostLeft(host: string): Promise<HostLeftAnswer> {
    return this.request<HostLeftAnswer>('POST', '/api/host-left', { host });
  }

  /** Compare the valid members block by block, online. */
  verify(): Promise<VerifyAnswer> {
    return this.request<VerifyAnswer>('POST', '/api/verify', {});
  }

  private async request<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    let answer: { status: number; text: string };
    try {
      answer = await this.send(method, path, body === undefined ? undefined : JSON.stringify(body));
    } catch (error) {
      throw new IoError(
        `the server of this set (pid ${this.endpoint.pid}) is not reachable at ${this.endpoint.http}: ${(error as Error).message}; stop it or remove its server.json`,
      );
    }
    const payload = JSON.parse(answer.text) as { error?: { code: string; message: string } } & T;
    if (answer.status < 200 || answer.status > 299) {
      throw errorFromCode(
        payload.error?.code ?? 'IO_ERROR',
        payload.error?.message ?? `server answered ${answer.status}`,
      );
    }
    return payload;
  }

  private async send(
    method: string,
    path: string,
    body: string | undefined,
  ): Promise<{ status: number; text: string }> {
    const headers = { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' };
    if (this.endpoint.scheme !== 'https') {
      const response = await fetch(`http://${this.endpoint.http}${path}`, { method, headers, body });
      return { status: response.status, text: await response.text() };
    }
    // fetch takes no CA of its own: node:https does, so a server's own CA (serve --tls-certs)
    // is trusted without touching the process's trust store.
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        `https://${this.endpoint.http}${path}`,
        {
          method,
          headers,
          ...(this.endpoint.ca ? { ca: this.endpoint.ca } : {}),
          // The chain is checked against the server's own CA file; the name is not, since a
          // local command reaches it by the loopback address, which its certificate may not name.
          checkServerIdentity: () => undefined,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }
}
